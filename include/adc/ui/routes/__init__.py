"""The register UI's routes, one router per area; adc.ui.app includes them all under one login.

    dashboard    the front page (and the stylesheet every page's frame loads)
    assets       the asset search and an asset's page
    findings     the findings list, a finding's page, acknowledging one from its form
    activities   the RoPA: processing activities, an activity's page, a review question's evidence
    downloads    the downloads page, the register, the RoPA, the reconciliation report, the audit pack
    api          the JSON API (mounted under /api)

A router imports adc.ui.deps (the person, the engines, the templates) and adc.ui.auth (the change
guard), never adc.ui.app.
"""
