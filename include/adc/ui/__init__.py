"""The register in the Airflow UI: a FastAPI app (pages, downloads, a small JSON API) and the audit pack.

``adc.ui.app.create_app(identify=...)`` builds the app around an authentication dependency, so
it runs inside Airflow's api-server (plugins/adc_register_ui.py hands it Airflow's login) and in
tests with a test user. Its routes are routers, one per area, in ``routes``; what they share (the
person, what they may see, the engines, the templates) is ``deps``. Reads are plain SQLAlchemy Core
on the register (``queries``), each through the reader's conditions (``visible``: organisations.yaml's
rule); pages are Jinja2 templates in ADC's sandboxed, autoescaped environment with charts drawn as
inline SVG (``charts``); ``audit`` builds the audit pack the CLI (`adc audit-pack`) also writes.

This package's ``__init__`` imports nothing heavy: the CLI imports ``adc.ui.audit`` without FastAPI.
"""
