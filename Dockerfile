# The Airflow image with ADC's pinned dependencies and the adc command. The project's dags/, plugins/
# and include/ are mounted by docker-compose.yaml (PYTHONPATH=/opt/airflow/include), so code changes
# need no rebuild; dependency changes do (docker compose build).
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:0 requirements.txt constraints.txt pyproject.toml README.md /opt/adc/
COPY --chown=airflow:0 include /opt/adc/include
RUN pip install --no-cache-dir -c /opt/adc/constraints.txt -r /opt/adc/requirements.txt \
    && pip install --no-cache-dir --no-deps /opt/adc
