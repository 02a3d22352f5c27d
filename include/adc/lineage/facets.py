"""The facets of a dataset's OpenLineage event, from a harvested record and the asset that covers it.

Standard facets where the spec has one (schema, dataSource, documentation, ownership, symlinks,
storage, datasetType, tags, lifecycleStateChange, version); ADC's own view (asset, declared and
observed personal data, retention, review, reconstructed) in the custom facet ``adc_asset``,
whose JSON schema is committed next to this module and named by its ``_schemaURL``.

Every facet carries ADC's producer explicitly (never the client's process-wide default, which
the Airflow provider changes on import) and every list is sorted, so the same inputs always
serialise to the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.metadata import metadata
from pathlib import Path
from typing import Any

import attr
from openlineage.client.facet_v2 import (
    DatasetFacet,
    dataset_type_dataset,
    dataset_version_dataset,
    datasource_dataset,
    documentation_dataset,
    lifecycle_state_change_dataset,
    ownership_dataset,
    schema_dataset,
    storage_dataset,
    symlinks_dataset,
    tags_dataset,
)

from adc import __version__
from adc.model import Classification
from adc.naming import DatasetId


def _producer() -> str:
    """The producer URI of every event: ADC_OPENLINEAGE_PRODUCER, else where the installed project
    lives (pyproject's ``[project.urls] Source``) at this version."""
    configured = os.environ.get("ADC_OPENLINEAGE_PRODUCER")
    if configured:
        return configured
    urls = dict(entry.split(", ", 1) for entry in metadata("adc").get_all("Project-URL") or [])
    return f"{urls['Source']}/tree/v{__version__}"


PRODUCER = _producer()
SCHEMAS = Path(__file__).parent / "schemas"
ADC_FACET = "adc_asset"  # the custom facet's key in dataset.facets
# The custom facet's schema is named by its own $id (a unit test keeps them in step), not by the producer:
# a deployment that sets its own producer still emits facets that validate against the published schema.
ADC_FACET_SCHEMA_URL = (
    "https://raw.githubusercontent.com/dcr-digital/adc/main/include/adc/lineage/schemas/AdcAssetDatasetFacet.json"
    "#/$defs/AdcAssetDatasetFacet"
)

# Tag sources: what the register declares, and what the harvest found in the data itself.
FROM_REGISTER = "ADC_REGISTER"
FROM_HARVEST = "ADC_HARVEST"

# ObservedDataset.kind -> (OpenLineage datasetType, subType)
DATASET_TYPES = {
    "table": ("TABLE", None),
    "view": ("VIEW", None),
    "iceberg": ("TABLE", "ICEBERG"),
    "file": ("FILE", None),
    "stream": ("STREAM", None),
    "database": ("DATABASE", None),
    "cluster": ("DATABASE", "CLUSTER"),
}

# Register fields the events show (and whose changes in the asset's history move an event's time).
ASSET_FIELDS = (
    "name", "description", "owner", "custodian", "security_classification", "personal_data",
    "special_categories", "criminal_offence_data", "retention_schedule", "disposal_action", "status",
    "last_reviewed", "next_review_due",
)


@attr.define
class AdcAssetDatasetFacet(DatasetFacet):
    """ADC's custom dataset facet; schema: schemas/AdcAssetDatasetFacet.json."""

    registered: bool
    observed: dict[str, Any]
    reconstructed: bool
    assetId: str | None = None  # noqa: N815 - OpenLineage facet fields are camelCase
    assetName: str | None = None  # noqa: N815
    assetStatus: str | None = None  # noqa: N815
    securityClassification: str | None = None  # noqa: N815
    retentionSchedule: str | None = None  # noqa: N815
    disposalAction: str | None = None  # noqa: N815
    review: dict[str, str] | None = None
    declared: dict[str, Any] | None = None

    @staticmethod
    def _get_schema() -> str:
        return ADC_FACET_SCHEMA_URL


def split_list(value: str | list[str] | None) -> list[str]:
    """The register's comma-separated lists (and the harvest's) as a sorted list."""
    if not value:
        return []
    items = value if isinstance(value, list) else value.split(",")
    return sorted({item.strip() for item in items if item and item.strip()})


def dataset_facets(
    dataset: DatasetId,
    record: Mapping[str, Any],
    asset: Mapping[str, Any] | None,
    *,
    version: str,
    change: str | None,
    reconstructed: bool,
) -> dict[str, DatasetFacet]:
    """The facets of one dataset version.

    ``record`` is ObservedDataset.to_dict() (statistics in it are ignored: they change in place);
    ``asset`` holds the covering asset's ASSET_FIELDS plus ``asset_id`` (None when unregistered);
    ``change`` is CREATE, ALTER or DROP (None: no lifecycle change to report). A dropped dataset
    keeps only what identifies it and who answers for it.
    """
    facets: dict[str, DatasetFacet] = {
        "dataSource": datasource_dataset.DatasourceDatasetFacet(
            name=dataset.namespace, uri=dataset.namespace, producer=PRODUCER
        ),
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version, producer=PRODUCER),
        ADC_FACET: adc_facet(record, asset, reconstructed=reconstructed),
    }
    if change:
        facets["lifecycleStateChange"] = lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
            lifecycleStateChange=lifecycle_state_change_dataset.LifecycleStateChange[change], producer=PRODUCER
        )
    if asset and (owners := _owners(asset)):
        facets["ownership"] = ownership_dataset.OwnershipDatasetFacet(owners=owners, producer=PRODUCER)
    kind, sub_type = DATASET_TYPES.get(str(record.get("kind") or "table"), (str(record.get("kind")).upper(), None))
    facets["datasetType"] = dataset_type_dataset.DatasetTypeDatasetFacet(
        datasetType=kind, subType=sub_type, producer=PRODUCER
    )
    if change == "DROP":
        return facets

    if fields := _schema_fields(record):
        facets["schema"] = schema_dataset.SchemaDatasetFacet(fields=fields, producer=PRODUCER)
    description = record.get("description") or (asset or {}).get("description")
    if description:
        facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(
            description=description, producer=PRODUCER
        )
    if symlinks := record.get("symlinks"):
        facets["symlinks"] = symlinks_dataset.SymlinksDatasetFacet(
            identifiers=[
                symlinks_dataset.Identifier(namespace=s["namespace"], name=s["name"], type=_symlink_type(s))
                for s in sorted(symlinks, key=lambda s: (s["namespace"], s["name"]))
            ],
            producer=PRODUCER,
        )
    if storage := _storage(record):
        facets["storage"] = storage
    facets["tags"] = tags_dataset.TagsDatasetFacet(tags=_tags(record, asset), producer=PRODUCER)
    return facets


def adc_facet(record: Mapping[str, Any], asset: Mapping[str, Any] | None, *,
              reconstructed: bool) -> AdcAssetDatasetFacet:
    """ADC's view: the covering asset and what it declares, next to what the harvest observed."""
    fields = record.get("fields") or []
    observed = {
        "classification": str(record.get("classification") or Classification.NONE),
        "personalData": bool(record.get("personal_data")),
        "personalDataCategories": split_list(
            [f.get("category") for f in fields if f.get("classification") != Classification.NONE]
        ),
        "specialCategories": split_list(record.get("special_categories")),
        # from the fields: records stored before the model said it outright do not have the key
        "criminalOffenceData": any(f.get("classification") == Classification.CRIMINAL for f in fields),
        "schemaStatus": str(record.get("schema_status") or "none"),
    }
    if not asset:
        return AdcAssetDatasetFacet(registered=False, observed=observed, reconstructed=reconstructed, producer=PRODUCER)
    review = {
        key: str(asset[field])
        for key, field in (("lastReviewed", "last_reviewed"), ("nextReviewDue", "next_review_due"))
        if asset.get(field)
    }
    return AdcAssetDatasetFacet(
        registered=True,
        observed=observed,
        reconstructed=reconstructed,
        assetId=asset["asset_id"],
        assetName=asset.get("name"),
        assetStatus=asset.get("status"),
        securityClassification=asset.get("security_classification"),
        retentionSchedule=asset.get("retention_schedule"),
        disposalAction=asset.get("disposal_action"),
        review=review or None,
        declared={
            "personalData": bool(asset.get("personal_data")),
            "specialCategories": split_list(asset.get("special_categories")),
            "criminalOffenceData": bool(asset.get("criminal_offence_data")),
        },
        producer=PRODUCER,
    )


def _owners(asset: Mapping[str, Any]) -> list[ownership_dataset.Owner]:
    """The Information Asset Owner and the custodian (Information Asset Manager), as user URNs."""
    return [
        ownership_dataset.Owner(name=f"user:{asset[field]}", type=role)
        for field, role in (("owner", "INFORMATION_ASSET_OWNER"), ("custodian", "INFORMATION_ASSET_MANAGER"))
        if asset.get(field)
    ]


def _schema_fields(record: Mapping[str, Any]) -> list[schema_dataset.SchemaDatasetFacetFields]:
    """Columns in their order, then partition keys that are not columns (Hive-style path keys)."""
    fields = [
        schema_dataset.SchemaDatasetFacetFields(name=f["name"], type=f.get("type") or "string", fields=None)
        for f in record.get("fields") or []
    ]
    names = {f.name for f in fields}
    fields += [
        schema_dataset.SchemaDatasetFacetFields(name=key, type="string", description="partition key", fields=None)
        for key in record.get("partition_keys") or []
        if key not in names
    ]
    return fields


def _symlink_type(symlink: Mapping[str, str]) -> str:
    """A storage location (s3://...) is a LOCATION; anything else is a catalogued TABLE."""
    return "LOCATION" if symlink["namespace"].startswith("s3://") else "TABLE"


def _storage(record: Mapping[str, Any]) -> storage_dataset.StorageDatasetFacet | None:
    """Table format (iceberg) or file format of data kept as files; nothing for databases."""
    if record.get("kind") == "iceberg":
        return storage_dataset.StorageDatasetFacet(storageLayer="iceberg", fileFormat=record.get("format"),
                                                   producer=PRODUCER)
    if record.get("format"):
        return storage_dataset.StorageDatasetFacet(storageLayer="default", fileFormat=record["format"],
                                                   producer=PRODUCER)
    return None


def _tags(record: Mapping[str, Any], asset: Mapping[str, Any] | None) -> list[tags_dataset.TagsDatasetFacetFields]:
    """Security classification and asset id (register); personal data and column classes (harvest)."""
    tags: list[tuple[str, str, str, str | None]] = [
        ("personal_data", str(bool(record.get("personal_data"))).lower(), FROM_HARVEST, None),
        ("classification", str(record.get("classification") or Classification.NONE), FROM_HARVEST, None),
    ]
    tags += [("special_category", c, FROM_HARVEST, None) for c in split_list(record.get("special_categories"))]
    for f in record.get("fields") or []:
        if f.get("classification") not in (None, Classification.NONE):
            tags.append(("classification", f["classification"], FROM_HARVEST, f["name"]))
            if f.get("category"):
                tags.append(("category", f["category"], FROM_HARVEST, f["name"]))
    if asset:
        tags.append(("asset_id", asset["asset_id"], FROM_REGISTER, None))
        if asset.get("security_classification"):
            tags.append(("security_classification", asset["security_classification"], FROM_REGISTER, None))
    return [
        tags_dataset.TagsDatasetFacetFields(key=key, value=value, source=source, field=field)
        for key, value, source, field in sorted(tags, key=lambda t: (t[3] or "", t[0], t[1], t[2]))
    ]
