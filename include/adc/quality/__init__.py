"""Data quality (issue 14): the declared expectations in quality.yaml, their DQDL rules, and how a rule
is judged against a dataset's metrics history. Pure functions: no register, no AWS, no Airflow.

- :mod:`adc.quality.dqdl` parses a DQDL ruleset (AWS Glue's Data Quality Definition Language).
- :mod:`adc.quality.rules` reads and validates quality.yaml.
- :mod:`adc.quality.evaluate` judges one rule against the metrics the harvests recorded.

See docs/quality.md.
"""
