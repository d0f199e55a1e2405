"""The registered locations and their providers, built once from a seed (the CQC directory's truth)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date
from enum import IntEnum

import numpy as np

from careshare.reference import LocalAuthorities, LocalAuthority

from . import words

NEVER = date.max.toordinal()
CQC_REGISTER_STARTS = date(2010, 10, 1)
PANDEMIC_STARTS = date(2020, 4, 1)


class Service(IntEnum):
    NURSING_HOME = 0
    RESIDENTIAL_HOME = 1
    DOMICILIARY = 2
    EXTRA_CARE = 3
    SUPPORTED_LIVING = 4
    SHARED_LIVES = 5


CARE_HOMES = (Service.NURSING_HOME, Service.RESIDENTIAL_HOME)
COMMUNITY = (Service.DOMICILIARY, Service.EXTRA_CARE, Service.SUPPORTED_LIVING)

GAC_SERVICE_TYPE = {
    Service.NURSING_HOME: ("Nursing homes", "Care home service with nursing"),
    Service.RESIDENTIAL_HOME: ("Residential homes", "Care home service without nursing"),
    Service.DOMICILIARY: ("Homecare agencies", "Domiciliary care service"),
    Service.EXTRA_CARE: ("Extra Care housing services", "Extra Care housing services"),
    Service.SUPPORTED_LIVING: ("Supported living", "Supported living service"),
    Service.SHARED_LIVES: ("Shared Lives", "Shared Lives"),
}
CT_SERVICE_TYPE = {
    Service.DOMICILIARY: "Domiciliary care",
    Service.EXTRA_CARE: "Extra care housing",
    Service.SUPPORTED_LIVING: "Supported living",
}
CQC_SERVICE_TYPE = {
    Service.DOMICILIARY: "homecare",
    Service.EXTRA_CARE: "extra_care",
    Service.SUPPORTED_LIVING: "supported_living",
}

_COMMUNITY_MIX = (0.72, 0.08, 0.20)  # domiciliary, extra care, supported living
_NURSING_SHARE = 0.27
_ODS_SHARE = {"care_home": 0.92, "community": 0.8, "shared_lives": 0.5}
_LEADING_SYMBOL_SHARE = 0.003
_REGISTERED_DURING_PANDEMIC = 0.08
_DEREGISTERED_SHARE = 0.07
_MIXED_PROVIDER_SHARE = 0.03
_TINY_COUNCILS = ("City of London", "Isles of Scilly")


@dataclass(frozen=True, eq=False)
class Providers:
    provider_id: list[str]
    name: list[str]
    locations: list[list[int]]

    def __len__(self) -> int:
        return len(self.provider_id)


@dataclass(frozen=True, eq=False)
class Population:
    """Column arrays, one entry per location; day fields are date ordinals (NEVER when none)."""

    councils: tuple[LocalAuthority, ...]
    providers: Providers
    location_id: list[str]
    name: list[str]
    ods_code: list[str | None]
    postal_code: list[str]
    provider: np.ndarray
    council: np.ndarray
    service: np.ndarray
    registration_day: np.ndarray
    deregistration_day: np.ndarray
    beds: np.ndarray
    size: np.ndarray  # beds for care homes, people supported for community services
    staff: np.ndarray
    ct_id: np.ndarray  # 0 for services Capacity Tracker does not know
    key: np.ndarray  # uint64 draw key
    propensity: np.ndarray  # relative likelihood of answering on a day, mean 1
    transition_draw: np.ndarray  # uniform, mapped to a CQC-to-CT transition behaviour by rates

    def __len__(self) -> int:
        return len(self.location_id)

    def is_service(self, *services: Service) -> np.ndarray:
        return np.isin(self.service, [int(s) for s in services])


def location_key(seed: int, location_id: str) -> int:
    digest = hashlib.blake2b(f"{seed}|{location_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def build_population(
    seed: int,
    care_homes: int,
    community_services: int,
    shared_lives: int,
    authorities: LocalAuthorities,
    directory_as_of: date,
) -> Population:
    rng = np.random.default_rng([seed, care_homes, community_services, shared_lives])
    text_rng = random.Random(f"{seed}|{care_homes}|{community_services}|{shared_lives}")  # noqa: S311 (a simulation)
    service = _services(rng, care_homes, community_services, shared_lives)
    n = len(service)
    councils = tuple(sorted(authorities.valid_on(directory_as_of), key=lambda la: la.code))
    council = rng.choice(len(councils), size=n, p=_council_weights(rng, councils))
    ids = _unique_ids(text_rng, n + n)
    location_id, spare_ids = ids[:n], ids[n:]
    providers, provider = _providers(rng, text_rng, service, spare_ids)
    registration_day, deregistration_day = _registrations(rng, n, directory_as_of)
    beds, size, staff = _sizes(rng, service)
    return Population(
        councils=councils,
        providers=providers,
        location_id=location_id,
        name=[_name(text_rng, Service(int(s))) for s in service],
        ods_code=_ods_codes(text_rng, service),
        postal_code=_postcodes(text_rng, [councils[c].region_name for c in council]),
        provider=provider,
        council=council,
        service=service,
        registration_day=registration_day,
        deregistration_day=deregistration_day,
        beds=beds,
        size=size,
        staff=staff,
        ct_id=_ct_ids(rng, service),
        key=np.array([location_key(seed, lid) for lid in location_id], dtype=np.uint64),
        propensity=rng.beta(5.0, 2.0, size=n) / (5.0 / 7.0),
        transition_draw=rng.random(n),
    )


def _services(rng: np.random.Generator, care_homes: int, community: int, shared_lives: int) -> np.ndarray:
    homes = np.where(rng.random(care_homes) < _NURSING_SHARE, Service.NURSING_HOME, Service.RESIDENTIAL_HOME)
    services = rng.choice(np.array(COMMUNITY), size=community, p=_COMMUNITY_MIX)
    lives = np.full(shared_lives, Service.SHARED_LIVES)
    return rng.permutation(np.concatenate([homes, services, lives]).astype(np.int8))


def _council_weights(rng: np.random.Generator, councils: tuple[LocalAuthority, ...]) -> np.ndarray:
    weights = rng.gamma(2.0, 1.0, size=len(councils))
    weights *= np.array([0.03 if la.name in _TINY_COUNCILS else 1.0 for la in councils])
    return weights / weights.sum()


def _unique_ids(rng: random.Random, count: int) -> list[str]:
    seen: set[str] = set()
    ids: list[str] = []
    while len(ids) < count:
        candidate = words.cqc_id(rng)
        if candidate not in seen:
            seen.add(candidate)
            ids.append(candidate)
    return ids


def _chain_sizes(rng: np.random.Generator, total: int) -> list[int]:
    """Provider sizes summing to `total`: mostly single locations, a long tail of chains."""
    sizes = np.minimum(rng.zipf(2.1, size=max(total, 1)), 250)
    ends = np.cumsum(sizes)
    count = int(np.searchsorted(ends, total)) + 1
    chains = sizes[:count].tolist()
    chains[-1] -= int(ends[count - 1]) - total
    return [c for c in chains if c > 0]


def _providers(
    rng: np.random.Generator, text_rng: random.Random, service: np.ndarray, spare_ids: list[str]
) -> tuple[Providers, np.ndarray]:
    provider = np.zeros(len(service), dtype=np.int64)
    pools = [
        np.flatnonzero(np.isin(service, CARE_HOMES)),
        np.flatnonzero(np.isin(service, COMMUNITY)),
        np.flatnonzero(service == Service.SHARED_LIVES),
    ]
    members: list[list[int]] = []
    care_home_providers = 0
    for pool_number, pool in enumerate(pools):
        start = 0
        for chain in _chain_sizes(rng, len(pool)):
            members.append(sorted(int(i) for i in pool[start : start + chain]))
            start += chain
        if pool_number == 0:
            care_home_providers = len(members)
    community_providers = list(range(care_home_providers, len(members)))
    mixed = min(len(community_providers), max(1, round(_MIXED_PROVIDER_SHARE * care_home_providers)))
    if care_home_providers and mixed:
        for owner, merged in zip(
            rng.choice(care_home_providers, size=mixed, replace=False),
            rng.choice(community_providers, size=mixed, replace=False),
            strict=True,
        ):
            members[owner] = sorted(members[owner] + members[merged])
            members[merged] = []
    members = [m for m in members if m]
    for number, locations in enumerate(members):
        provider[locations] = number
    providers = Providers(
        provider_id=spare_ids[: len(members)],
        name=[words.provider_name(text_rng) for _ in members],
        locations=members,
    )
    return providers, provider


def _registrations(rng: np.random.Generator, n: int, as_of: date) -> tuple[np.ndarray, np.ndarray]:
    early = rng.integers(CQC_REGISTER_STARTS.toordinal(), PANDEMIC_STARTS.toordinal(), size=n)
    late_end = max(as_of.toordinal() - 30, PANDEMIC_STARTS.toordinal() + 1)
    late = rng.integers(PANDEMIC_STARTS.toordinal(), late_end, size=n)
    registered = np.where(rng.random(n) < _REGISTERED_DURING_PANDEMIC, late, early)
    registered = np.minimum(registered, as_of.toordinal())
    earliest_end = np.maximum(registered + 120, PANDEMIC_STARTS.toordinal() + 30)
    can_close = earliest_end < as_of.toordinal()
    closes = rng.random(n) < _DEREGISTERED_SHARE
    span = np.maximum(as_of.toordinal() - earliest_end, 1)
    ended = earliest_end + (rng.random(n) * span).astype(np.int64)
    deregistered = np.where(can_close & closes, ended, NEVER)
    return registered.astype(np.int64), deregistered.astype(np.int64)


def _sizes(rng: np.random.Generator, service: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(service)
    median = np.select(
        [
            service == Service.NURSING_HOME,
            service == Service.RESIDENTIAL_HOME,
            service == Service.DOMICILIARY,
            service == Service.EXTRA_CARE,
            service == Service.SUPPORTED_LIVING,
        ],
        [52.0, 30.0, 55.0, 35.0, 12.0],
        default=20.0,
    )
    spread = np.where(np.isin(service, CARE_HOMES), 0.5, 0.85)
    size = np.clip(np.rint(median * np.exp(spread * rng.standard_normal(n))), 1, 1500).astype(np.int64)
    is_home = np.isin(service, CARE_HOMES)
    size = np.where(is_home, np.clip(size, 3, 220), size)
    beds = np.where(is_home, size, 0)
    staff_ratio = np.select(
        [is_home, service == Service.SUPPORTED_LIVING, service == Service.EXTRA_CARE],
        [rng.uniform(1.0, 1.6, n), rng.uniform(1.2, 2.5, n), rng.uniform(0.5, 0.9, n)],
        default=rng.uniform(0.6, 1.1, n),
    )
    staff = np.maximum(np.rint(size * staff_ratio), 1).astype(np.int64)
    return beds.astype(np.int64), size, staff


def _name(rng: random.Random, service: Service) -> str:
    if service in CARE_HOMES:
        name = words.care_home_name(rng)
    elif service is Service.DOMICILIARY:
        name = words.domiciliary_name(rng)
    elif service is Service.EXTRA_CARE:
        name = words.extra_care_name(rng)
    elif service is Service.SUPPORTED_LIVING:
        name = words.supported_living_name(rng)
    else:
        name = words.shared_lives_name(rng)
    if rng.random() < _LEADING_SYMBOL_SHARE:
        name = words.with_leading_symbol(rng, name)
    return name


def _ods_codes(rng: random.Random, service: np.ndarray) -> list[str | None]:
    seen: set[str] = set()
    codes: list[str | None] = []
    for s in service.tolist():
        family = "care_home" if s in CARE_HOMES else "shared_lives" if s == Service.SHARED_LIVES else "community"
        if rng.random() >= _ODS_SHARE[family]:
            codes.append(None)
            continue
        code = words.ods_code(rng)
        while code in seen:
            code = words.ods_code(rng)
        seen.add(code)
        codes.append(code)
    return codes


def _postcodes(rng: random.Random, regions: list[str]) -> list[str]:
    seen: set[str] = set()
    codes = []
    for region in regions:
        code = words.postcode(rng, region)
        for _ in range(5):
            if code not in seen:
                break
            code = words.postcode(rng, region)
        seen.add(code)
        codes.append(code)
    return codes


def _ct_ids(rng: np.random.Generator, service: np.ndarray) -> np.ndarray:
    ct_id = np.zeros(len(service), dtype=np.int64)
    homes = np.flatnonzero(np.isin(service, CARE_HOMES))
    community = np.flatnonzero(np.isin(service, COMMUNITY))
    ct_id[homes] = 10_000 + rng.choice(len(homes) * 4, size=len(homes), replace=False)
    ct_id[community] = 500_000 + rng.choice(len(community) * 4, size=len(community), replace=False)
    return ct_id
