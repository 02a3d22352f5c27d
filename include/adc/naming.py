"""Dataset identity: the one naming module every room uses.

A dataset is identified by its OpenLineage (namespace, name), following the OpenLineage naming
spec (spec/Naming.md) through openlineage-python's own helpers where the spec covers the service.
AWS resources the spec does not name (DynamoDB tables, RDS instances, Redshift clusters as a
whole) follow the spec's Glue pattern: namespace ``arn:aws:<service>:<region>:<account>`` and the
ARN's resource part as the name, so every AWS identity is also a valid ARN.

The register accepts locations as URIs a person can type (``s3://bucket/prefix``,
``glue://database/table``, ``dynamodb://table``, ``rds://instance``, ``redshift://cluster``, a
full ARN, or ``postgres://host:port/db.schema.table``); :func:`parse_location` turns each into the
same identity the harvest produces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from openlineage.client.naming import dataset as ol_naming

from adc.errors import AdcError


@dataclass(frozen=True, order=True)
class DatasetId:
    """OpenLineage dataset identity."""

    namespace: str
    name: str

    @property
    def uri(self) -> str:
        """namespace + name as one string (the spec's URI form, ARN form for AWS namespaces)."""
        if self.namespace.startswith("arn:"):
            return f"{self.namespace}:{self.name}"
        if not self.name:
            return self.namespace
        return f"{self.namespace}/{self.name}"

    def covers(self, other: DatasetId) -> bool:
        """True if ``other`` is this dataset or lies under it (a bucket covers its prefixes)."""
        if self.namespace != other.namespace:
            return False
        return not self.name or other.name == self.name or other.name.startswith(self.name + "/")

    def __str__(self) -> str:
        return self.uri


class LocationError(AdcError):
    """A location URI that names no dataset ADC can identify."""


def s3(bucket: str, prefix: str = "") -> DatasetId:
    naming = ol_naming.S3(bucket_name=bucket, object_key=prefix.strip("/") or "/")
    return DatasetId(naming.get_namespace(), prefix.strip("/"))


def glue(region: str, account: str, database: str, table: str) -> DatasetId:
    naming = ol_naming.AWSGlue(region_name=region, account_id=account, database_name=database, table_name=table)
    return DatasetId(naming.get_namespace(), naming.get_name())


def glue_database(region: str, account: str, database: str) -> DatasetId:
    """A whole Glue database: the prefix that covers its tables (table/<db>/<table>)."""
    return DatasetId(f"arn:aws:glue:{region}:{account}", f"table/{database}")


def dynamodb(region: str, account: str, table: str) -> DatasetId:
    return DatasetId(f"arn:aws:dynamodb:{region}:{account}", f"table/{table}")


def rds_instance(region: str, account: str, instance: str) -> DatasetId:
    return DatasetId(f"arn:aws:rds:{region}:{account}", f"db:{instance}")


def redshift_cluster(region: str, account: str, cluster: str) -> DatasetId:
    return DatasetId(f"arn:aws:redshift:{region}:{account}", f"cluster:{cluster}")


def postgres(host: str, port: int, database: str, schema: str, table: str) -> DatasetId:
    naming = ol_naming.Postgres(host=host, port=str(port), database=database, schema=schema, table=table)
    return DatasetId(naming.get_namespace(), naming.get_name())


def redshift(cluster: str, region: str, port: int, database: str, schema: str, table: str) -> DatasetId:
    naming = ol_naming.Redshift(
        cluster_identifier=cluster, region=region, port=str(port), database=database, schema=schema, table=table
    )
    return DatasetId(naming.get_namespace(), naming.get_name())


def database_table(url: str, table: str) -> DatasetId:
    """A table of the database at a SQLAlchemy URL (the register's tables), credentials dropped.

    PostgreSQL follows the spec: postgres://host:port + database.schema.table (schema ``public``).
    SQLite, which the spec does not name, is the database file's URL as the namespace
    (sqlite:///absolute/path.db) and the table as the name.
    """
    # SQLAlchemy imported when called: keeps DAG parsing fast (DAG files import this module)
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ":memory:"
        return DatasetId(f"sqlite://{database if database == ':memory:' else Path(database).resolve()}", table)
    if backend == "postgresql":
        return postgres(parsed.host or "localhost", parsed.port or 5432, parsed.database or "postgres", "public", table)
    return DatasetId(f"{backend}://{parsed.host or 'localhost'}" + (f":{parsed.port}" if parsed.port else ""),
                     f"{parsed.database}.{table}" if parsed.database else table)


_ARN = re.compile(r"^(arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}):(.+)$")
_SHORT = re.compile(r"^(glue|dynamodb|rds|redshift)://(.+)$")


def parse_location(uri: str, *, region: str | None = None, account: str | None = None) -> DatasetId:
    """Turn a register location into a dataset identity.

    Short AWS forms (glue://, dynamodb://, rds://, redshift://) carry no region or account; the
    caller supplies the defaults (settings ADC_DEFAULT_AWS_REGION / ADC_DEFAULT_AWS_ACCOUNT).
    """
    text = (uri or "").strip()
    if not text:
        raise LocationError("location is empty")
    if text.startswith("s3://") or text.startswith("s3a://"):
        rest = text.split("://", 1)[1]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise LocationError(f"location {uri!r} has no bucket")
        return s3(bucket, prefix)
    match = _ARN.match(text)
    if match:
        return DatasetId(match.group(1), match.group(2))
    match = _SHORT.match(text)
    if match:
        service, path = match.groups()
        if not region or not account:
            raise LocationError(
                f"location {uri!r} needs a default AWS region and account "
                "(set ADC_DEFAULT_AWS_REGION and ADC_DEFAULT_AWS_ACCOUNT) or use the full ARN"
            )
        parts = [p for p in path.split("/") if p]
        if service == "glue":
            if len(parts) == 1:
                return glue_database(region, account, parts[0])
            if len(parts) == 2:
                return glue(region, account, parts[0], parts[1])
            raise LocationError(f"location {uri!r}: expected glue://database or glue://database/table")
        if len(parts) != 1:
            raise LocationError(f"location {uri!r}: expected {service}://<name>")
        return {"dynamodb": dynamodb, "rds": rds_instance, "redshift": redshift_cluster}[service](
            region, account, parts[0]
        )
    for scheme in ("postgres://", "postgresql://", "mysql://"):  # redshift:// is a short form, above
        if text.startswith(scheme):
            authority, _, name = text.split("://", 1)[1].partition("/")
            if not authority or not name:
                raise LocationError(f"location {uri!r}: expected {scheme}host:port/database.schema.table")
            return DatasetId(scheme.replace("postgresql", "postgres") + authority, name)
    raise LocationError(
        f"location {uri!r} is not a recognised URI (s3://, glue://, dynamodb://, rds://, redshift://, "
        "postgres://, or an arn:aws:... ARN)"
    )
