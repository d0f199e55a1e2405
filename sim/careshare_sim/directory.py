"""The CQC directory's public API views of the population: pages, details, providers, changes."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np

from .hashing import stable_key
from .population import CARE_HOMES, GAC_SERVICE_TYPE, NEVER, Population, Service

MAX_PER_PAGE = 10_000
_CHANGES_FROM = date(2020, 1, 1)


class Directory:
    def __init__(self, seed: int, population: Population, as_of: date):
        self.population = population
        self.as_of = as_of
        self._index = {lid: i for i, lid in enumerate(population.location_id)}
        self._providers = {pid: i for i, pid in enumerate(population.providers.provider_id)}
        self._change_log = _change_log(seed, population, as_of)  # replaced whole, never edited
        self._amended: dict[int, dict[str, Any]] = {}

    @property
    def total(self) -> int:
        return len(self.population)

    def page(self, page: int, per_page: int) -> dict[str, Any]:
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"page must be >= 1 and perPage between 1 and {MAX_PER_PAGE}")
        population = self.population
        start = (page - 1) * per_page
        chosen = range(start, min(start + per_page, self.total))
        return {
            "total": self.total,
            "page": page,
            "totalPages": math.ceil(self.total / per_page),
            "locations": [
                {
                    "locationId": population.location_id[i],
                    "locationName": self._amended.get(i, {}).get("name", population.name[i]),
                    "postalCode": self._amended.get(i, {}).get("postalCode", population.postal_code[i]),
                }
                for i in chosen
            ],
        }

    def location(self, location_id: str) -> dict[str, Any] | None:
        index = self._index.get(location_id)
        return None if index is None else self.detail(index)

    def detail(self, index: int) -> dict[str, Any]:
        return self._detail(index) | self._amended.get(index, {})

    def amend(self, location_id: str, at: datetime, **changes: Any) -> None:
        """Change a location's record from now on, listed in changes/location at `at`.

        E.g. `amend("1-123456789", at, name="New Name", postalCode="AB1 2CD")`; the keys are the
        detail's own.
        """
        index = self._index[location_id]
        unknown = sorted(set(changes) - set(self._detail(index)))
        if unknown:
            raise ValueError(f"a location record has no field(s) {', '.join(unknown)}")
        self._amended[index] = self._amended.get(index, {}) | changes
        times, locations = self._change_log
        position = int(np.searchsorted(times, _epoch(at), side="right"))
        self._change_log = (np.insert(times, position, _epoch(at)), np.insert(locations, position, index))

    def _detail(self, index: int) -> dict[str, Any]:
        p = self.population
        service = Service(int(p.service[index]))
        council = p.councils[int(p.council[index])]
        deregistered = int(p.deregistration_day[index]) != NEVER
        gac_name, gac_description = GAC_SERVICE_TYPE[service]
        return {
            "locationId": p.location_id[index],
            "providerId": p.providers.provider_id[int(p.provider[index])],
            "name": p.name[index],
            "odsCode": p.ods_code[index],
            "postalCode": p.postal_code[index],
            "localAuthority": council.name,
            "region": council.region_name,
            "registrationStatus": "Deregistered" if deregistered else "Registered",
            "registrationDate": date.fromordinal(int(p.registration_day[index])).isoformat(),
            "deregistrationDate": (
                date.fromordinal(int(p.deregistration_day[index])).isoformat() if deregistered else None
            ),
            "careHome": "Y" if service in CARE_HOMES else "N",
            "numberOfBeds": int(p.beds[index]) if service in CARE_HOMES else None,
            "gacServiceTypes": [{"name": gac_name, "description": gac_description}],
        }

    def provider(self, provider_id: str) -> dict[str, Any] | None:
        index = self._providers.get(provider_id)
        if index is None:
            return None
        providers = self.population.providers
        return {
            "providerId": provider_id,
            "name": providers.name[index],
            "locationIds": [self.population.location_id[i] for i in providers.locations[index]],
        }

    def changes(self, start: datetime, end: datetime) -> list[str]:
        """Ids of locations whose record changed in [start, end)."""
        times, locations = self._change_log
        lo = np.searchsorted(times, _epoch(start), side="left")
        hi = np.searchsorted(times, _epoch(end), side="left")
        changed = np.unique(locations[lo:hi])
        return [self.population.location_id[i] for i in changed.tolist()]


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 date or date-time; without an offset it is taken as UTC."""
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _change_log(seed: int, population: Population, as_of: date) -> tuple[np.ndarray, np.ndarray]:
    """Registrations, deregistrations and a few detail edits per location, as sorted epoch seconds."""
    rng = np.random.default_rng(stable_key(seed, "directory_changes") % 2**63)
    n = len(population)
    everyone = np.arange(n)
    day_seconds = 86_400
    ordinal_epoch = date(1970, 1, 1).toordinal()
    registered = (population.registration_day - ordinal_epoch) * day_seconds + rng.integers(8 * 3600, 18 * 3600, n)
    closed = population.deregistration_day != NEVER
    deregistered = (population.deregistration_day[closed] - ordinal_epoch) * day_seconds + rng.integers(
        8 * 3600, 18 * 3600, int(closed.sum())
    )
    edits_per_location = rng.poisson(1.5, n)
    edited = np.repeat(everyone, edits_per_location)
    start = _epoch(datetime.combine(_CHANGES_FROM, time(), UTC))
    end = _epoch(datetime.combine(as_of, time(), UTC))
    edit_times = rng.integers(start, max(end, start + 1), len(edited))
    after_registration = edit_times > registered[edited]
    times = np.concatenate([registered, deregistered, edit_times[after_registration]])
    locations = np.concatenate([everyone, everyone[closed], edited[after_registration]])
    order = np.argsort(times, kind="stable")
    return times[order], locations[order]
