-- The register gets its own database and role, separate from Airflow's metadata database.
CREATE ROLE adc LOGIN PASSWORD 'adc';
CREATE DATABASE adc_register OWNER adc;
