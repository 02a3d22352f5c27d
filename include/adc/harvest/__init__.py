"""The harvest: what exists in an AWS estate, one observed dataset per table, streamed into the register.

Modules, top-down:

- ``runner``: plan a harvest (source x region x service x scope), run its units, finish the run.
- ``s3``, ``glue``, ``dynamodb``, ``rds``, ``redshift``: one module per service, each a ``base.Harvester``
  (how its scopes are listed, what a scope covers, the ``ObservedDataset`` records of one scope: a
  bucket, a Glue database, a table, an instance); ``registry.HARVESTERS`` holds them, by service.
- ``layout``: S3 keys grouped into datasets (Hive partitions, date paths, table-per-prefix, files).
- ``schema``: schemas from file headers and footers (Parquet, CSV/TSV, JSON, JSON lines, Avro, gzip).
- ``classify``: personal, special-category and criminal-offence columns, with the reason.
- ``sql``: tables and columns of an RDS instance or Redshift cluster through the SQLAlchemy inspector.

Nothing here imports Airflow; sample values live only in the function that reads them.
"""
