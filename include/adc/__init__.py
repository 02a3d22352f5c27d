"""ADC, the Augmented Data Catalogue.

The package is importable without a running Airflow: harvest, register, lineage and RoPA logic
live here; dags/ and plugins/ only wire it into Airflow.
"""

__version__ = "0.1.0"
