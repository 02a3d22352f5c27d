"""Step 4: the candidates, one builder per finding kind (adc.register.KINDS).

A builder is a set-based INSERT ... SELECT into the candidates table (``scratch.candidate``): one row
per finding the snapshot shows, keyed by (kind, subject). The merge (merge.py) turns candidates into
findings with their history, so a new kind needs only its builder here, its entry in
``candidate_builders`` and its line in KINDS. Per-asset kinds flag rows first (``scratch.flagged``)
and ``_per_asset`` aggregates them into one candidate per asset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import String, Text, and_, case, cast, exists, func, insert, literal, or_, select

from adc.model import SPECIAL_CATEGORIES
from adc.register.reconcile.scratch import absent, alias, candidate, coverage, drift, flagged, match, severity
from adc.register.reconcile.snapshot import PRESENT
from adc.register.reconcile.state import State
from adc.register.sqlfn import (
    covers,
    dataset_uri,
    embed,
    json_agg,
    json_array,
    json_bool,
    json_elements,
    json_length,
    json_object,
    listed,
    scalar_text,
    text_agg,
)
from adc.register.tables import asset, asset_location, observed_dataset

od, a, loc, m = observed_dataset, asset, asset_location, match
KNOWN_SCHEMA = ("inferred", "catalogue")  # a schema was read: the content's classification means something


def _field_json(fields) -> Any:
    value = fields.c.value
    return json_object(name=value["name"].as_string(), classification=value["classification"].as_string(),
                       category=func.coalesce(value["category"].as_string(), ""),
                       reason=func.coalesce(value["reason"].as_string(), ""))


class CandidateBuilders(State):
    """Step 4: a builder per finding kind, in the order ``candidate_builders`` gives."""

    def candidate_builders(self) -> dict[str, Callable[[], None]]:
        return {
            "unregistered_dataset": self.unregistered_datasets,
            "absence_withheld": self.withheld_absences,  # before missing_asset: it holds those assets back
            "missing_asset": self.missing_assets,
            "classification_mismatch": self.classification_mismatches,
            "owner_mismatch": self.owner_mismatches,
            "schema_drift": self.schema_drift,
            "retention_mismatch": self.retention_mismatches,
            "unreadable_source": self.unreadable_sources,
        }

    def _add(self, query, *columns: str) -> None:
        self.conn.execute(insert(candidate).from_select(list(columns), query))

    def unregistered_datasets(self) -> None:
        uri = dataset_uri(od.c.namespace, od.c.name)
        schema_status = od.c.schema_status
        known = schema_status.in_(KNOWN_SCHEMA)
        tags = self.policy.tags
        fields = json_elements(od.c.record, "fields")
        sensitive = select(json_agg(_field_json(fields), order_by=fields.c.value["name"].as_string())).select_from(
            fields).where(fields.c.value["classification"].as_string() != "none").scalar_subquery()
        evidence = json_object(
            dataset=uri, service=od.c.service, source=od.c.source, scope=od.c.scope, kind=od.c.kind,
            format=od.c.format, schema_status=schema_status, classification=od.c.classification,
            special_categories=od.c.special_categories, criminal_offence_data=json_bool(od.c.criminal_offence_data),
            columns=embed(sensitive), asset_id_tag=od.c.tags[tags.asset_id].as_string(),
            owner_tag=od.c.tags[tags.owner].as_string(),
        )
        self._add(
            select(literal("unregistered_dataset"), uri,
                   case((od.c.personal_data, "high"), (known, "low"), else_="medium"),
                   od.c.namespace, od.c.name, od.c.source,
                   case((od.c.personal_data, uri + " is in no asset's locations and holds personal data"),
                        (known, uri + " is in no asset's locations (no personal data found)"),
                        else_=uri + " is in no asset's locations (its content could not be read)"),
                   evidence)
            .where(PRESENT, ~exists().where(m.c.version_id == od.c.version_id)),
            "kind", "subject", "severity", "namespace", "name", "source", "summary", "evidence")

    def withheld_absences(self) -> None:
        for source_name, info in self.absence.items():
            ids = (select(absent.c.asset_id).where(absent.c.newly, absent.c.source == source_name)
                   .order_by(absent.c.asset_id).subquery())
            who = f": {info['decided_by']} refused to mark them missing" if info["decided_by"] else \
                ": waiting for a person to approve"
            self._add(
                select(literal("absence_withheld"), literal(source_name), literal("medium"), literal(source_name),
                       literal(f"{info['missing']} of {info['assets']} assets of source {source_name} look missing "
                               f"({info['share']:.0%}, more than its threshold of {info['threshold']:.0%}); "
                               f"they are kept as they were{who}"),
                       json_object(source=source_name, missing=info["missing"], assets=info["assets"],
                                   threshold=str(info["threshold"]), decision=info["decision"],
                                   decided_by=info["decided_by"] or "",
                                   asset_ids=embed(select(json_agg(ids.c.asset_id, order_by=ids.c.asset_id))
                                                   .scalar_subquery()))),
                "kind", "subject", "severity", "source", "summary", "evidence")
            # withheld: these assets keep their status
            self.conn.execute(absent.delete().where(absent.c.newly, absent.c.source == source_name))

    def missing_assets(self) -> None:
        locations = (select(json_agg(loc.c.uri, order_by=loc.c.location_id)).where(loc.c.asset_id == a.c.asset_id)
                     .scalar_subquery())
        listed_in = (select(json_agg(json_object(scope=dataset_uri(coverage.c.namespace, coverage.c.name),
                                                 harvest_run=coverage.c.run_id),
                                     order_by=coverage.c.namespace))
                     .where(coverage.c.status == "complete",
                            exists().where(loc.c.asset_id == a.c.asset_id, covers(coverage.c.namespace, coverage.c.name,
                                                                                  loc.c.namespace, loc.c.name))
                            .correlate_except(loc))  # the asset two levels up, the scope one level up
                     .scalar_subquery())
        will_be_missing = or_(exists().where(absent.c.asset_id == a.c.asset_id), a.c.status == "missing")
        self._add(
            select(literal("missing_asset"), a.c.asset_id, case((a.c.key_asset, "high"), else_="medium"), a.c.asset_id,
                   a.c.asset_id + " " + a.c.name + ": nothing current at its locations, which were listed completely",
                   json_object(asset_id=a.c.asset_id, name=a.c.name, owner=func.coalesce(a.c.owner, ""),
                               locations=embed(locations), listed_in=embed(listed_in)))
            .where(a.c.status != "retired", ~exists().where(m.c.asset_id == a.c.asset_id), will_be_missing),
            "kind", "subject", "severity", "asset_id", "summary", "evidence")

    def classification_mismatches(self) -> None:
        conn = self.conn
        # a dataset holds what its asset does not declare (prefiltered on the dataset's derived columns)
        undeclared_special = or_(*(and_(listed(m.c.special_categories, c), ~listed(a.c.special_categories, c))
                                   for c in SPECIAL_CATEGORIES))
        grave = or_(and_(m.c.special_categories.is_not(None), undeclared_special),
                    and_(m.c.criminal_offence_data, ~a.c.criminal_offence_data))
        undeclared = and_(m.c.personal_data, or_(~a.c.personal_data, grave))
        fields = json_elements(od.c.record, "fields")
        f_class, f_category = fields.c.value["classification"].as_string(), fields.c.value["category"].as_string()
        field_undeclared = or_(
            and_(f_class == "personal", ~a.c.personal_data),
            and_(f_class == "special_category",
                 or_(~a.c.personal_data, f_category.is_(None), ~listed(a.c.special_categories, f_category))),
            and_(f_class == "criminal_offence", ~a.c.criminal_offence_data),
        )
        conn.execute(insert(flagged).from_select(
            ["kind", "asset_id", "dataset", "item", "label", "rank"],
            select(literal("classification_mismatch"), m.c.asset_id, dataset_uri(m.c.namespace, m.c.name),
                   _field_json(fields), fields.c.value["name"].as_string(),
                   case((f_class == "personal", 1), else_=0))
            .select_from(m).join(a, a.c.asset_id == m.c.asset_id).join(od, od.c.version_id == m.c.version_id)
            .join(fields, literal(True)).where(undeclared, field_undeclared)))
        declared = json_object(personal_data=json_bool(a.c.personal_data),
                               special_categories=func.coalesce(a.c.special_categories, ""),
                               criminal_offence_data=json_bool(a.c.criminal_offence_data))
        self._per_asset("classification_mismatch", "columns", declared,
                        a.c.asset_id + " (" + a.c.name + ") does not declare what its datasets hold: ")
        # the reverse: declares personal data, yet every dataset's schema was read and none shows any
        datasets = (select(m.c.asset_id, func.count().label("n"),
                           json_agg(dataset_uri(m.c.namespace, m.c.name), order_by=m.c.name).label("uris"))
                    .select_from(m).join(a, and_(a.c.asset_id == m.c.asset_id, a.c.personal_data))
                    .group_by(m.c.asset_id)
                    .having(func.max(case((or_(m.c.personal_data, func.coalesce(m.c.schema_status, "").not_in(
                        KNOWN_SCHEMA)), 1), else_=0)) == 0)
                    .subquery())
        self._add(
            select(literal("classification_mismatch"), a.c.asset_id, literal("low"), a.c.asset_id,
                   a.c.asset_id + " (" + a.c.name + ") declares personal data, but none of its "
                   + cast(datasets.c.n, String) + " dataset(s) shows any",
                   json_object(declared=declared, datasets=embed(datasets.c.uris)))
            .select_from(a).join(datasets, datasets.c.asset_id == a.c.asset_id)
            .where(a.c.personal_data, ~exists().where(candidate.c.kind == "classification_mismatch",
                                                      candidate.c.subject == a.c.asset_id)),
            "kind", "subject", "severity", "asset_id", "summary", "evidence")

    def owner_mismatches(self) -> None:
        key = self.policy.tags.owner
        tag = m.c.owner_tag
        self.conn.execute(insert(flagged).from_select(
            ["kind", "asset_id", "dataset", "item", "label", "rank"],
            select(literal("owner_mismatch"), m.c.asset_id, dataset_uri(m.c.namespace, m.c.name),
                   json_object(tag=key, value=tag), key + "=" + tag, literal(2))
            .select_from(m).join(a, a.c.asset_id == m.c.asset_id)
            .where(func.trim(func.coalesce(tag, "")) != "",
                   func.lower(func.trim(tag)) != func.lower(func.trim(func.coalesce(a.c.owner, ""))))))
        self._per_asset("owner_mismatch", "tags", json_object(owner=func.coalesce(a.c.owner, "")),
                        a.c.asset_id + "'s owner is " + func.coalesce(a.c.owner, "nobody")
                        + " but a dataset is tagged ")

    def retention_mismatches(self) -> None:
        control = od.c.record[("properties", "retention_control")]  # the evidence (flagged rows only)
        kind, active = m.c.retention_kind, m.c.retention_active
        self.conn.execute(insert(flagged).from_select(
            ["kind", "asset_id", "dataset", "item", "label", "rank"],
            select(literal("retention_mismatch"), m.c.asset_id, dataset_uri(m.c.namespace, m.c.name),
                   embed(control), dataset_uri(m.c.namespace, m.c.name), literal(1))
            .select_from(m).join(a, a.c.asset_id == m.c.asset_id).join(od, od.c.version_id == m.c.version_id)
            .where(func.trim(func.coalesce(a.c.retention_schedule, "")) != "",
                   or_(a.c.disposal_action.is_(None), a.c.disposal_action == "destroy"),
                   or_(kind == "none", and_(kind != "unknown", active.is_(False))),
                   m.c.holds_data)))  # a view holds none; a catalogue entry's data is judged at its location
        self._per_asset("retention_mismatch", "controls",
                        json_object(retention_schedule=a.c.retention_schedule,
                                    disposal_action=func.coalesce(a.c.disposal_action, "")),
                        a.c.asset_id + " must follow retention schedule " + a.c.retention_schedule
                        + ", but nothing expires the data in ")

    def _per_asset(self, kind: str, items_key: str, declared, summary_prefix) -> None:
        """Aggregate the kind's flagged rows into one candidate per asset: its datasets with their items."""
        f = flagged
        per_dataset = (select(f.c.asset_id, f.c.dataset, func.min(f.c.rank).label("rank"),
                              json_agg(embed(f.c.item), order_by=f.c.label).label("items"))
                       .where(f.c.kind == kind).group_by(f.c.asset_id, f.c.dataset).subquery())
        per_asset = (select(per_dataset.c.asset_id, func.min(per_dataset.c.rank).label("rank"),
                            json_agg(json_object(dataset=per_dataset.c.dataset,
                                                 **{items_key: embed(per_dataset.c["items"])}),
                                     order_by=per_dataset.c.dataset).label("datasets"))
                     .group_by(per_dataset.c.asset_id).subquery())
        labels = select(text_agg(f.c.label)).where(f.c.kind == kind, f.c.asset_id == a.c.asset_id).scalar_subquery()
        self._add(
            select(literal(kind), a.c.asset_id, severity(per_asset.c.rank), a.c.asset_id,
                   summary_prefix + labels, json_object(declared=declared, datasets=embed(per_asset.c.datasets)))
            .select_from(a).join(per_asset, per_asset.c.asset_id == a.c.asset_id),
            "kind", "subject", "severity", "asset_id", "summary", "evidence")

    def schema_drift(self) -> None:
        self._drift_from_previous_version()
        if self.linked:
            self._drift_from_files()
        uri = dataset_uri(od.c.namespace, od.c.name)
        owner = select(func.min(m.c.asset_id)).where(m.c.version_id == od.c.version_id).scalar_subquery()
        changed = json_length(drift.c.added) + json_length(drift.c.removed) + json_length(drift.c.retyped)
        self._add(
            select(literal("schema_drift"), drift.c.subject, case((drift.c.sensitive, "medium"), else_="low"), owner,
                   od.c.namespace, od.c.name, od.c.source,
                   case((drift.c.other.is_(None), uri + ": columns changed since the previous harvest ("),
                        else_=uri + ": the catalogue's columns differ from the files' at " + drift.c.other + " (")
                   + cast(changed, String) + " column(s))",
                   json_object(dataset=uri, compared_with=func.coalesce(drift.c.other, "previous version"),
                               added=embed(drift.c.added), removed=embed(drift.c.removed),
                               retyped=embed(drift.c.retyped)))
            .select_from(drift).join(od, od.c.version_id == drift.c.version_id).where(changed > 0),
            "kind", "subject", "severity", "asset_id", "namespace", "name", "source", "summary", "evidence")

    def _drift_from_previous_version(self) -> None:
        previous = od.alias("previous")
        now_fields, old_fields = json_elements(od.c.record, "fields"), json_elements(previous.c.record, "fields")
        new_name, old_name = now_fields.c.value["name"].as_string(), old_fields.c.value["name"].as_string()
        new_type, old_type = now_fields.c.value["type"].as_string(), old_fields.c.value["type"].as_string()
        in_old = exists().select_from(old_fields).where(old_name == new_name)
        in_new = exists().select_from(now_fields).where(new_name == old_name)
        added = select(json_agg(new_name, order_by=new_name)).select_from(now_fields).where(~in_old)
        removed = select(json_agg(old_name, order_by=old_name)).select_from(old_fields).where(~in_new)
        retyped = (select(json_agg(json_object(column=new_name, was=old_type, now=new_type), order_by=new_name))
                   .select_from(now_fields).join(old_fields, and_(old_name == new_name, old_type != new_type)))
        sensitive = exists().select_from(now_fields).where(
            ~in_old, now_fields.c.value["classification"].as_string() != "none")
        self.conn.execute(insert(drift).from_select(
            ["subject", "version_id", "added", "removed", "retyped", "sensitive"],
            select(dataset_uri(od.c.namespace, od.c.name), od.c.version_id, embed(added.scalar_subquery()),
                   embed(removed.scalar_subquery()), embed(retyped.scalar_subquery()), sensitive)
            .select_from(od)
            .join(previous, and_(previous.c.namespace == od.c.namespace, previous.c.name == od.c.name,
                                 previous.c.valid_to == od.c.first_seen_at))
            .where(PRESENT, cast(od.c.record["fields"], Text) != cast(previous.c.record["fields"], Text))))

    def _drift_from_files(self) -> None:
        files = od.alias("files")
        cat_fields, file_fields = json_elements(od.c.record, "fields"), json_elements(files.c.record, "fields")
        cat_parts, file_parts = json_elements(od.c.record, "partition_keys"), json_elements(files.c.record,
                                                                                             "partition_keys")
        cat_name = func.lower(cat_fields.c.value["name"].as_string())
        file_name = func.lower(file_fields.c.value["name"].as_string())

        def partition(name):
            return or_(exists().select_from(cat_parts).where(func.lower(scalar_text(cat_parts.c.value)) == name),
                       exists().select_from(file_parts).where(func.lower(scalar_text(file_parts.c.value)) == name))

        only_in_files = and_(~exists().select_from(cat_fields).where(cat_name == file_name), ~partition(file_name))
        only_in_catalogue = and_(~exists().select_from(file_fields).where(file_name == cat_name), ~partition(cat_name))
        self.conn.execute(insert(drift).from_select(
            ["subject", "version_id", "other", "added", "removed", "retyped", "sensitive"],
            select(dataset_uri(od.c.namespace, od.c.name) + " <> files",
                   od.c.version_id, dataset_uri(files.c.namespace, files.c.name),
                   embed(select(json_agg(file_name, order_by=file_name)).select_from(file_fields)
                         .where(only_in_files).scalar_subquery()),
                   embed(select(json_agg(cat_name, order_by=cat_name)).select_from(cat_fields)
                         .where(only_in_catalogue).scalar_subquery()),
                   json_array(),
                   exists().select_from(file_fields).where(
                       only_in_files, file_fields.c.value["classification"].as_string() != "none"))
            .select_from(alias)
            .join(od, od.c.version_id == alias.c.version_id)
            .join(files, and_(files.c.namespace == alias.c.namespace + "", files.c.name == alias.c.name,  # links lead
                              files.c.valid_to.is_(None), files.c.gone.is_(False)))
            .where(PRESENT, od.c.schema_status == "catalogue", files.c.schema_status == "inferred")))

    def unreadable_sources(self) -> None:
        cov = coverage
        uri = dataset_uri(cov.c.namespace, cov.c.name)
        owner = (select(func.min(loc.c.asset_id)).select_from(loc).join(a, and_(a.c.asset_id == loc.c.asset_id,
                                                                                 a.c.status != "retired"))
                 .where(or_(covers(cov.c.namespace, cov.c.name, loc.c.namespace, loc.c.name),
                            covers(loc.c.namespace, loc.c.name, cov.c.namespace, cov.c.name))).scalar_subquery())
        where = json_object(scope=uri, source=cov.c.source, service=cov.c.service, region=cov.c.region,
                            harvest_run=cov.c.run_id)
        self._add(
            select(literal("unreadable_source"), uri, literal("medium"), owner, cov.c.namespace, cov.c.name,
                   cov.c.source,
                   uri + " could not be listed (" + func.coalesce(cov.c.error_kind, "error") + "): nothing in it "
                   "can be confirmed or found missing",
                   json_object(where=where, error_kind=func.coalesce(cov.c.error_kind, ""),
                               error=func.coalesce(cov.c.error, "")))
            .where(cov.c.status == "failed"),
            "kind", "subject", "severity", "asset_id", "namespace", "name", "source", "summary", "evidence")
        self._add(
            select(literal("unreadable_source"), uri + " (files)", literal("low"), owner, cov.c.namespace,
                   cov.c.name, cov.c.source,
                   uri + ": " + cast(json_length(cov.c.unreadable), String) + " file(s) or table(s) could not be read",
                   json_object(where=where, unreadable=embed(cov.c.unreadable)))
            .where(cov.c.status == "complete", json_length(cov.c.unreadable) > 0),
            "kind", "subject", "severity", "asset_id", "namespace", "name", "source", "summary", "evidence")
