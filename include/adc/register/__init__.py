"""The register: ADC's one database (the IAR, the harvest snapshots, findings, history, RoPA)."""
