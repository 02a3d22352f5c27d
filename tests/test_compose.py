"""docker-compose.yaml keeps the production shape (checked always), holds no secret and gives none a
default, and is valid compose (where the docker CLI has compose; no Docker engine is needed for `docker
compose config`)."""

import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yaml"
POSTGRES_INIT = ROOT / "docker" / "postgres-init"
SECRETS = {"AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY", "AIRFLOW_FERNET_KEY", "POSTGRES_PASSWORD",
           "ADC_REGISTER_DB_PASSWORD", "MARQUEZ_DB_PASSWORD"}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|FERNET|TOKEN|CREDENTIAL|PRIVATE_KEY", re.IGNORECASE)
# compose's interpolation: $NAME, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME:+alt}
VARIABLE = re.compile(r"\$(?:\{(?P<braced>\w+)(?P<form>[^}]*)\}|(?P<bare>[A-Za-z_]\w*))")
REQUIRED = re.compile(r"\$\{\w+:\?[^}]+\}")  # unset or empty: compose stops with the message
URL_PASSWORD = re.compile(r"://[^/@\s:]*:([^@\s]*)@")
MOTO_ENDPOINT = "http://moto:5000"  # moto accepts any keys: its stand-in connection may name "testing"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_the_official_airflow_shape_with_adc_services(compose):
    services = compose["services"]
    for name in ("postgres", "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                 "airflow-triggerer", "moto"):
        assert name in services and "profiles" not in services[name], name
    assert services["airflow-worker"]["profiles"] == ["celery"]
    assert services["redis"]["profiles"] == ["celery"]
    assert services["marquez-api"]["profiles"] == ["lineage"] and services["marquez-web"]["profiles"] == ["lineage"]


def test_the_project_is_mounted_and_airflow_is_told_where_adc_is(compose):
    common = compose["x-airflow-common"]
    mounts = {volume.split(":")[1] for volume in common["volumes"]}
    assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include"} <= mounts
    env = common["environment"]
    assert env["PYTHONPATH"] == "/opt/airflow/include"
    assert "AIRFLOW_CONN_ADC_REGISTER" in env
    assert "SIMPLE_AUTH_MANAGER_ALL_ADMINS" not in str(env)


def test_ports_are_published_on_loopback_only(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def _strings(node, key: str = "") -> Iterator[tuple[str, str]]:
    """Every (key, string) in the file, the key being the mapping key the string is the value of."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _strings(value, str(name))
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, key)
    elif isinstance(node, str):
        yield key, node.replace("$$", "")  # $$ is a literal dollar, never a variable


def _secret(name: str) -> bool:
    return SECRET_NAME.search(name) is not None and not name.endswith(("_FILE", "_PATH"))  # not where one is


def _is_required(value: str) -> bool:
    return REQUIRED.fullmatch(value) is not None


@pytest.mark.reliability("security")
def test_no_secret_has_a_default_or_a_value_in_the_compose_file(compose):
    required = set()
    for key, value in _strings(compose):
        for variable in VARIABLE.finditer(value):
            name = variable["braced"] or variable["bare"]
            if _secret(name):  # no default, not even an empty one: set or refused
                assert _is_required(variable[0]), f"{key}: {variable[0]} may start without {name}"
                required.add(name)
        if _secret(key):
            assert _is_required(value), f"{key} is set in the file: {value!r}"
        for password in URL_PASSWORD.findall(value):
            assert password == "" or _is_required(password), f"{key} has a password in its URL"
        if key.startswith("AIRFLOW_CONN_") and value.startswith("{"):
            connection = json.loads(value)
            extra = connection.get("extra", {})
            fields = {**extra, **{k: v for k, v in connection.items() if k != "extra"}}
            for field, secret in fields.items():
                if _secret(field) and not _is_required(str(secret)):
                    assert extra.get("endpoint_url") == MOTO_ENDPOINT, f"{key}: {field} is set in the file"
    assert required == SECRETS  # each secret is still found where it is used, and nothing else looks secret
    readme = (ROOT / "README.md").read_text()
    assert [name for name in sorted(SECRETS) if f"`{name}`" not in readme] == []  # how to make each one
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()  # where they go is never committed


def test_the_register_role_takes_its_password_from_the_environment():
    scripts = sorted(POSTGRES_INIT.iterdir())
    assert scripts and not [s.name for s in scripts if re.search(r"PASSWORD\s+'", s.read_text(), re.I)]
    assert any("$ADC_REGISTER_DB_PASSWORD" in s.read_text() for s in scripts)


def _has_compose() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _has_compose(), reason="the docker CLI here has no compose plugin (no Docker engine runs here)")
def test_docker_compose_config_is_valid(tmp_path):
    # a project directory without .env: only what is given here is set
    command = ["docker", "compose", "--project-directory", str(tmp_path), "-f", str(COMPOSE)]
    unset = {k: v for k, v in os.environ.items() if k not in SECRETS}
    given = {**unset, **{name: secrets.token_urlsafe(32) for name in SECRETS}}
    for profiles in ([], ["--profile", "celery"], ["--profile", "lineage"]):
        result = subprocess.run([*command, *profiles, "config", "--quiet"], env=given, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    refused = subprocess.run([*command, "config", "--quiet"], env=unset, capture_output=True, text=True)
    assert refused.returncode != 0 and "see README.md" in refused.stderr
