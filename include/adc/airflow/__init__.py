"""The Airflow adapter: the operators ADC's DAGs wire together and what they read of Airflow.

Only this package (and adc.airflow_bridge) imports Airflow; everything else in adc runs without it.
"""
