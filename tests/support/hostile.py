"""Bad and hostile input for tests/reliability/test_hostile_input.py: the strings, an estate in moto
that carries them (bucket tags, object keys, a Glue table), a register file of them, the register
UI over any engine, the file transport, and the whole register as text (to look for a secret in).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select

from adc import naming
from adc.demo.files import encode
from tests.support.harvest import ACCOUNT, REGION, aws, bucket
from tests.support.ui import SECRET as CSRF_SECRET
from tests.support.ui import SESSION, identify

# --------------------------------------------------------------------------- the strings

JINJA = "{{ 7*7 }}"
CONNECTION = "{{ conn.aws_default.password }}"
STATEMENT = "{% for x in range(3) %}x{% endfor %}"
SCRIPT = "<script>alert(1)</script>"
SQL = "'; DROP TABLE asset; --"
CONTROL = "tab\there bell\x07 \x1b[31mred"
REVERSED = "abc\u202edef"  # RIGHT-TO-LEFT OVERRIDE: what follows it shows reversed
TEMPLATES = (JINJA, CONNECTION, STATEMENT)
HOSTILE = " ".join((*TEMPLATES, SCRIPT, SQL, CONTROL, REVERSED))
# S3 (and moto) refuse most control characters in tags: a tag carries the rest, a tab among them
IN_TAGS = " ".join((*TEMPLATES, SCRIPT, SQL, "tab\there", REVERSED))
LONG = " ".join(["A hundred thousand characters."] * 3226)  # 100,005 characters
# what the asset's name and the templates would show, had anything rendered them (in a page or a pack)
RENDERED = ("Hostile 49", "xxx <script", "xxx &lt;script", "xxx \\<script")

TEXT_BUCKET, DATABASE, TABLE = "hostile-text", "hostile_db", "hostile_table"
GLUE_TABLE = naming.glue(REGION, ACCOUNT, DATABASE, TABLE)
# one dataset per hostile string, each under its own prefix (its OpenLineage name)
PREFIXES = (*TEMPLATES, SCRIPT, SQL, f"control {CONTROL}", f"reversed {REVERSED}")
COLUMNS = (JINJA, SCRIPT, SQL, "email")  # the files' header row
ROWS = [{JINJA: f"v{i}", SCRIPT: i, SQL: STATEMENT, "email": f"p{i}@example.org"} for i in range(10)]


def escaped(text: str) -> str:
    """The text as an autoescaping page shows it."""
    return str(escape(text))


def plant_text(server) -> None:
    """Hostile text wherever AWS keeps text: a bucket's tags and object keys, the column names in its
    files, a Glue database and table (description, column name, column comment)."""
    bucket(server, TEXT_BUCKET, {f"{prefix}/part-0.csv": encode(ROWS, "csv") for prefix in PREFIXES})
    aws(server, "s3").put_bucket_tagging(Bucket=TEXT_BUCKET, Tagging={"TagSet": [
        {"Key": "note", "Value": IN_TAGS}, {"Key": "iar:owner", "Value": IN_TAGS}, {"Key": JINJA, "Value": SCRIPT},
        {"Key": "long", "Value": LONG}]})
    glue = aws(server, "glue")
    glue.create_database(DatabaseInput={"Name": DATABASE, "Description": HOSTILE})
    glue.create_table(DatabaseName=DATABASE, TableInput={
        "Name": TABLE, "Description": HOSTILE, "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "csv", "comment": HOSTILE},
        "StorageDescriptor": {"Location": f"s3://{TEXT_BUCKET}/{JINJA}/", "Columns": [
            {"Name": JINJA, "Type": "string", "Comment": HOSTILE},
            {"Name": "email", "Type": "string", "Comment": SCRIPT}]}})


HOSTILE_ASSET = "IA-0031"  # the asset PA-004 of the demo RoPA links to, so its review pack shows it
ASSET_NAME = f"Hostile {HOSTILE}"
DESCRIPTION = f"{HOSTILE} {LONG}"
REGISTER_COLUMNS = ("asset_id", "name", "description", "location", "owner", "custodian", "classification",
                    "personal_data", "data_subjects", "retention_schedule")


def register_file(path: Path, *rows: dict[str, str]) -> Path:
    """A register CSV of these rows (the columns in REGISTER_COLUMNS), as a spreadsheet would save it."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=REGISTER_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def hostile_asset() -> dict[str, str]:
    return {"asset_id": HOSTILE_ASSET, "name": ASSET_NAME, "description": DESCRIPTION,
            "location": f"s3://{TEXT_BUCKET}; glue://{DATABASE}/{TABLE}", "owner": "carol", "custodian": SCRIPT,
            "classification": "OFFICIAL", "personal_data": "no", "data_subjects": HOSTILE, "retention_schedule": SQL}


# --------------------------------------------------------------------------- bad files


def png_named_csv() -> bytes:
    """A PNG's signature and header chunk, then noise: binary content under a .csv name."""
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + os.urandom(2000)


def long_key(prefix: str, filename: str) -> str:
    """A key of exactly 1,024 bytes (S3's longest), its dataset a directory under ``prefix``."""
    filler = 1024 - len(f"{prefix}//{filename}".encode())
    return f"{prefix}/{'k' * filler}/{filename}"


# --------------------------------------------------------------------------- outputs


def ui_client(engine, user: str = "dana") -> TestClient:
    """The register UI over ``engine``, mounted under /adc as Airflow mounts it, with ``user`` logged in
    through a session cookie (tests/support/ui.py has the test login)."""
    from adc.ui.app import create_app

    outer = FastAPI()
    outer.mount("/adc", create_app(identify=identify, csrf_secret=CSRF_SECRET, reader=lambda: engine,
                                   writer=lambda: engine))
    client = TestClient(outer, base_url="http://testserver")
    client.cookies.set(SESSION, f"{user}:session-1")
    client.headers["Accept"] = "text/html"
    return client


def file_transport(monkeypatch, path: Path) -> Path:
    """OpenLineage's file transport, configured the standard way (as tests/integration/lineage does)."""
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(path))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    return path


def register_dump(engine) -> Iterator[str]:
    """Every row of every table of the register (the RoPA's included), one line of text each."""
    import adc.ropa.tables  # noqa: F401 - the RoPA's tables live on the same MetaData
    from adc.register.tables import metadata

    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                yield f"{table.name}: {tuple(row)!r}"


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def csv_records(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def csv_text(records: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]))
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()
