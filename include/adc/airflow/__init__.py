"""The Airflow adapter: the operators ADC's DAGs wire together and what they read of Airflow.

Only this package (and adc.connections, which reads Airflow's connections and configuration for the
layers below) imports Airflow; everything else in adc runs without it. Importing the package itself
imports nothing: the DAG files take these plain values from it.
"""

# Shared by every ADC DAG.
DEFAULT_ARGS = {
    "owner": "adc",
    "retries": 2,
    "retry_delay": 30,  # seconds; AWS throttling is already retried inside each call
}
HARVEST_ASSET_URI = "adc://register/harvest"
