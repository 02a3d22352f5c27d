"""The register: ADC's one database (the IAR, the harvest snapshots, findings, history, RoPA).

The register's vocabulary lives here, free of heavy imports, so the CLI and the DAG files can name it.
"""

from adc.model import GSCP as GSCP  # the marking vocabulary, named here with the rest of the register's

# What happens at the end of an asset's retention period. Only "destroy" (or nothing said) needs an
# expiry control on the data (S3 lifecycle rule, DynamoDB TTL): see retention_mismatch.
DISPOSAL_ACTIONS = ("destroy", "review", "transfer", "retain")

# What reconciliation finds (adc.register.reconcile builds each kind).
KINDS = {
    "unregistered_dataset": "a current dataset no asset's locations cover (high if it holds personal data)",
    "missing_asset": "an asset whose locations were listed completely and hold nothing current",
    "classification_mismatch": "content holds personal, special category or criminal offence data the asset "
                               "does not declare, or the asset declares personal data its content does not show",
    "owner_mismatch": "a dataset's owner tag names someone other than the asset's owner",
    "schema_drift": "a dataset's columns changed since its previous version, or a catalogue table's columns "
                    "differ from its files'",
    "retention_mismatch": "the asset has a retention schedule ending in destruction, but a dataset holding its "
                          "data has no active expiry (S3 lifecycle rule, DynamoDB TTL)",
    "unreadable_source": "a scope the harvest could not list, or files inside one it could not read",
    "absence_withheld": "a mass absence (over the source's missing_threshold) waiting for, or refused, approval",
}
STATUSES = ("open", "acknowledged", "dismissed", "resolved")
LIVE = ("open", "acknowledged", "dismissed")  # the cause persists
SEVERITIES = ("high", "medium", "low")

# The Airflow Asset adc_reconcile updates after each reconciliation (adc_triage runs on it).
FINDINGS_ASSET_URI = "adc://register/findings"
