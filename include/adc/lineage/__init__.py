"""OpenLineage for ADC: the estate as DatasetEvents, ADC's own runs as RunEvents, and backfill.

    facets.py    the standard facets a dataset gets, and ADC's custom facet (schemas/*.json)
    estate.py    what lineage reads from the register: dataset versions and asset states in time
    events.py    DatasetEvents for dataset versions, RunEvents for runs Airflow does not report
    emit.py      the openlineage-python client, configured the standard way, and emission
    backfill.py  the estate as it was in past intervals, from the register's history

Everything here is deterministic: the same register and the same interval give byte-identical
events, so a consumer deduplicates a replay. Nothing here imports Airflow (see adc.connections).
"""
