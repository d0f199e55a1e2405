"""Reference data in the warehouse: councils by date, and the CQC directory with history."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from careshare.conform.normalise import normalise_ods_code, normalise_postcode
from careshare.councils import name_key
from careshare.resources import Platform
from careshare.sources.cqc_directory import DirectoryClient

log = logging.getLogger(__name__)

SHARED_LIVES = "Shared Lives"


def load_local_authority_reference(platform: Platform) -> int:
    las = list(platform.local_authorities)
    councils = pd.DataFrame(
        {
            "la_code": [la.code for la in las],
            "la_name": [la.name for la in las],
            "region_code": [la.region_code for la in las],
            "region_name": [la.region_name for la in las],
            "valid_from": [la.valid_from for la in las],
            "valid_to": [la.valid_to for la in las],
            "replaces": [la.replaces for la in las],
        }
    )
    periods = pd.DataFrame(
        platform.local_authorities.name_periods(), columns=["la_name_key", "valid_from", "valid_to", "la_code"]
    )
    with platform.warehouse.transaction() as connection:
        platform.warehouse.execute(connection, "reference/delete_local_authorities")
        platform.warehouse.execute(connection, "reference/delete_la_name_periods")
        platform.warehouse.insert_frame(connection, "ref_local_authority", councils)
        platform.warehouse.insert_frame(connection, "ref_la_name_period", periods)
    return len(councils)


def location_rows(details: list[dict[str, Any]]) -> pd.DataFrame:
    """Directory details as dim_location_incoming rows (ids and postcodes normalised)."""
    frame = pd.DataFrame(
        {
            "location_id": [d["locationId"] for d in details],
            "provider_id": [d.get("providerId") for d in details],
            "name": [d.get("name") for d in details],
            "ods_code": [d.get("odsCode") or "" for d in details],
            "postcode": [d.get("postalCode") or "" for d in details],
            "la_name": [d.get("localAuthority") for d in details],
            "la_name_key": [name_key(d.get("localAuthority") or "") for d in details],
            "region": [d.get("region") for d in details],
            "registration_status": [d.get("registrationStatus") for d in details],
            "registration_date": [_date(d.get("registrationDate")) for d in details],
            "deregistration_date": [_date(d.get("deregistrationDate")) for d in details],
            "care_home": [d.get("careHome") for d in details],
            "number_of_beds": pd.array([d.get("numberOfBeds") for d in details], dtype="Int64"),
            "service_types": [json.dumps(_service_names(d)) for d in details],
            "expected_to_report": [SHARED_LIVES not in _service_names(d) for d in details],
            "record_sha256": [_record_sha256(d) for d in details],
        }
    )
    frame["ods_code"] = normalise_ods_code(frame["ods_code"])
    frame["postcode"] = normalise_postcode(frame["postcode"])
    return frame


def provider_rows(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Provider records as dim_provider_incoming rows."""
    return pd.DataFrame(
        {
            "provider_id": [r["providerId"] for r in records],
            "name": [r.get("name") for r in records],
            "record_sha256": [_record_sha256(r) for r in records],
        },
        columns=["provider_id", "name", "record_sha256"],
    )


def load_directory(platform: Platform, client: DirectoryClient, as_of: datetime) -> dict[str, Any]:
    """Full load the first time, then only the locations changed since the last load."""
    last = platform.warehouse.query_frame("reference/last_directory_load").at[0, "as_of"]
    if last is None or pd.isna(last):
        mode, ids = "full", client.location_ids()
    else:
        since = pd.Timestamp(last).to_pydatetime().replace(tzinfo=UTC)
        mode, ids = "changes", client.changed_location_ids(since, as_of)
    details = client.locations(ids)
    incoming = location_rows(details)
    providers = client.providers(sorted(set(incoming["provider_id"].dropna())))
    unknown = sorted(pid for pid, record in providers.items() if record is None)
    if unknown:
        log.warning("CQC directory: %d provider ids have no provider record, e.g. %s", len(unknown), unknown[:5])
    incoming_providers = provider_rows([record for record in providers.values() if record is not None])
    as_of_naive = as_of.astimezone(UTC).replace(tzinfo=None)
    with platform.warehouse.transaction() as connection:
        platform.warehouse.execute(connection, "reference/delete_incoming_locations")
        platform.warehouse.insert_frame(connection, "dim_location_incoming", incoming)
        platform.warehouse.execute(connection, "reference/close_changed_locations", {"as_of": as_of_naive})
        added = platform.warehouse.execute(connection, "reference/insert_location_versions", {"as_of": as_of_naive})
        platform.warehouse.execute(connection, "reference/delete_incoming_providers")
        platform.warehouse.insert_frame(connection, "dim_provider_incoming", incoming_providers)
        platform.warehouse.execute(connection, "reference/close_changed_providers", {"as_of": as_of_naive})
        providers_added = platform.warehouse.execute(
            connection, "reference/insert_provider_versions", {"as_of": as_of_naive}
        )
        platform.warehouse.execute(
            connection,
            "reference/record_directory_load",
            {
                "as_of": as_of_naive,
                "mode": mode,
                "locations_fetched": len(incoming),
                "versions_added": added,
                "completed_at": datetime.now(UTC).replace(tzinfo=None),
            },
        )
    summary = {
        "mode": mode,
        "locations_fetched": len(incoming),
        "versions_added": added,
        "providers_fetched": len(incoming_providers),
        "provider_versions_added": providers_added,
        "providers_unknown": len(unknown),
    }
    log.info("CQC directory %s load as of %s: %s", mode, as_of.isoformat(), summary)
    return summary


def _service_names(detail: dict[str, Any]) -> list[str]:
    return sorted(s.get("name", "") for s in detail.get("gacServiceTypes") or [])


def _record_sha256(detail: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(detail, sort_keys=True).encode()).hexdigest()


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None
