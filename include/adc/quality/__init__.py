"""Data quality (issue 14): the declared expectations in quality.yaml, their DQDL rules, and how a rule
is judged against a dataset's metrics history. No AWS, no Airflow; only history reads the register.

- :mod:`adc.quality.dqdl` parses a DQDL ruleset (AWS Glue's Data Quality Definition Language).
- :mod:`adc.quality.rules` reads and validates quality.yaml.
- :mod:`adc.quality.evaluate` judges one rule against the metrics the harvests recorded.
- :mod:`adc.quality.history` reads a dataset's recorded metrics from the register, as a reader may see them.

See docs/quality.md.
"""
