#!/usr/bin/env bash
# The register gets its own database and role, separate from Airflow's metadata database. The role's
# password comes from ADC_REGISTER_DB_PASSWORD (docker-compose.yaml), never from this file; psql quotes it.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     --set password="$ADC_REGISTER_DB_PASSWORD" <<'SQL'
CREATE ROLE adc LOGIN PASSWORD :'password';
CREATE DATABASE adc_register OWNER adc;
SQL
