"""What a location answered on a day: plausible values that respect the contract's bounds.

Values are functions of (location, day, variant) only. The CT row and the CQC submission of a
community service on the same day come from the same answers, so they agree; `variant` > 0 gives
an earlier, slightly different submission of the same day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from careshare.feeds import BLUE_PPE_FROM, ICF_FROM

from .hashing import Draws
from .population import Population
from .timeline import in_lockdown, intensity

PPE_ITEMS = ("masks", "gloves", "aprons", "eye_protection", "hand_hygiene")
RAG_CODES = ("Red", "Amber", "Green", "Blue")
VISITING = ("Open", "Restricted", "Closed")
ICF_SINGLE_SITE = ("Yes", "No", "Partially")
ICF_FULL_PAY = ("Yes", "No")
ICF_FUNDING = ("Yes", "No", "Not yet")
LONG_TERM_SUPPLY_DAYS = 60

_HOUR_WEIGHTS = np.array([3, 8, 12, 12, 10, 8, 7, 6, 6, 5, 5, 4, 3, 2, 2], dtype=np.float64)
_FIRST_HOUR = 7
_EARLIEST_RESUBMISSION_MINUTE = 6 * 60


@dataclass(frozen=True, eq=False)
class Shared:
    """Answers common to both kinds of service."""

    minute_of_day: np.ndarray
    second: np.ndarray
    ppe_days: np.ndarray  # (len(PPE_ITEMS), n)
    icf_single_site: np.ndarray  # index into ICF_SINGLE_SITE
    icf_full_pay: np.ndarray
    icf_funding: np.ndarray


@dataclass(frozen=True, eq=False)
class CareHomeAnswers:
    shared: Shared
    beds_total: np.ndarray
    beds_vacant: np.ndarray
    accepting_admissions: np.ndarray  # bool
    residents_total: np.ndarray
    residents_confirmed: np.ndarray
    residents_suspected: np.ndarray
    residents_new_confirmed: np.ndarray
    residents_new_suspected: np.ndarray
    staff_employed: np.ndarray
    staff_absent_covid: np.ndarray
    staff_absent_other: np.ndarray
    staff_new_confirmed: np.ndarray
    staff_new_suspected: np.ndarray
    visiting: np.ndarray  # index into VISITING


@dataclass(frozen=True, eq=False)
class CommunityAnswers:
    shared: Shared
    people: np.ndarray
    people_confirmed: np.ndarray
    people_suspected: np.ndarray
    staff: np.ndarray
    staff_absent_covid: np.ndarray
    hours_unable: np.ndarray
    more_hours: np.ndarray  # bool
    deaths: np.ndarray


class _Context:
    def __init__(self, draws: Draws, population: Population, idx: np.ndarray, days: np.ndarray, variant: int):
        self.static = draws
        self.daily = draws.scoped("variant", variant) if variant else draws
        self.population = population
        self.idx = idx
        self.keys = population.key[idx]
        self.days = np.broadcast_to(np.asarray(days, dtype=np.int64), idx.shape)
        self.variant = variant
        self.intensity = intensity(self.days)

    def u(self, name: str) -> np.ndarray:
        return self.daily.uniform(name, self.keys, self.days)

    def z(self, name: str) -> np.ndarray:
        return self.daily.normal(name, self.keys, self.days)

    def poisson(self, name: str, mean: np.ndarray) -> np.ndarray:
        return self.daily.poisson(name, self.keys, np.maximum(mean, 0.0), self.days)

    def static_u(self, name: str) -> np.ndarray:
        return self.static.uniform(name, self.keys)

    def outbreak(self, base_chance: float, wave_chance: float) -> tuple[np.ndarray, np.ndarray]:
        """Outbreaks last ten-day blocks: (in outbreak, severity as a share of people infected)."""
        block = self.days // 10
        chance = np.minimum(base_chance + wave_chance * self.intensity, 0.6)
        happening = self.static.uniform("outbreak", self.keys, block) < chance
        severity = 0.03 + 0.2 * self.static.uniform("outbreak_severity", self.keys, block)
        return happening, severity


def care_home_answers(
    draws: Draws, population: Population, idx: np.ndarray, days: np.ndarray, variant: int = 0
) -> CareHomeAnswers:
    c = _Context(draws.scoped("care_home"), population, idx, days, variant)
    beds = population.beds[idx]
    occupancy = 0.78 + 0.17 * c.static_u("occupancy") - 0.08 * c.intensity + 0.02 * c.z("occupancy")
    residents = np.clip(np.rint(beds * occupancy), 0, beds).astype(np.int64)
    out_of_use = np.minimum(c.poisson("beds_out_of_use", 0.3 * np.ones(len(idx))), beds - residents)
    vacant = beds - residents - out_of_use
    outbreak, severity = c.outbreak(0.02, 0.35)
    prevalence = np.where(outbreak, severity, 0.002 * c.intensity)
    confirmed = np.minimum(c.poisson("residents_confirmed", residents * prevalence), residents)
    suspected = np.minimum(c.poisson("residents_suspected", residents * prevalence * 0.5 + 0.05), residents)
    new_confirmed = np.minimum(c.poisson("residents_new_confirmed", confirmed * 0.2), confirmed)
    new_suspected = np.minimum(c.poisson("residents_new_suspected", suspected * 0.3), suspected)
    employed = np.maximum(np.rint(population.staff[idx] * np.exp(0.03 * c.z("staff"))), 1).astype(np.int64)
    staff_rate = np.where(outbreak, severity * 0.6, 0.004 + 0.03 * c.intensity)
    absent_covid = np.minimum(c.poisson("staff_absent_covid", employed * staff_rate), employed)
    absent_other = np.minimum(c.poisson("staff_absent_other", employed * 0.04), employed - absent_covid)
    staff_new_confirmed = np.minimum(c.poisson("staff_new_confirmed", absent_covid * 0.15), absent_covid)
    staff_new_suspected = c.poisson("staff_new_suspected", absent_covid * 0.1 + 0.02)
    closed_by_outbreak = outbreak & (c.u("admissions_outbreak") < 0.85)
    accepting = (vacant > 0) & ~closed_by_outbreak & (c.u("admissions") < 0.92)
    return CareHomeAnswers(
        shared=_shared(c),
        beds_total=beds.astype(np.int64),
        beds_vacant=vacant.astype(np.int64),
        accepting_admissions=accepting,
        residents_total=residents,
        residents_confirmed=confirmed,
        residents_suspected=suspected,
        residents_new_confirmed=new_confirmed,
        residents_new_suspected=new_suspected,
        staff_employed=employed,
        staff_absent_covid=absent_covid,
        staff_absent_other=absent_other,
        staff_new_confirmed=staff_new_confirmed,
        staff_new_suspected=staff_new_suspected,
        visiting=_visiting(c, outbreak),
    )


def community_answers(
    draws: Draws, population: Population, idx: np.ndarray, days: np.ndarray, variant: int = 0
) -> CommunityAnswers:
    c = _Context(draws.scoped("community"), population, idx, days, variant)
    people = np.maximum(np.rint(population.size[idx] * np.exp(0.05 * c.z("people"))), 0).astype(np.int64)
    outbreak, severity = c.outbreak(0.01, 0.2)
    prevalence = np.where(outbreak, severity * 0.5, 0.002 * c.intensity)
    confirmed = np.minimum(c.poisson("people_confirmed", people * prevalence), people)
    suspected = np.minimum(c.poisson("people_suspected", people * prevalence * 0.6 + 0.05), people)
    staff = np.maximum(np.rint(population.staff[idx] * np.exp(0.03 * c.z("staff"))), 1).astype(np.int64)
    staff_rate = np.where(outbreak, severity * 0.4, 0.004 + 0.03 * c.intensity)
    absent = np.minimum(c.poisson("staff_absent_covid", staff * staff_rate), staff)
    short_chance = 0.04 + 0.2 * c.intensity + 0.2 * (absent > 0)
    short = c.u("short_of_staff") < short_chance
    hours = np.where(short, np.maximum(np.rint(15 * np.exp(0.9 * c.z("hours_unable"))), 1), 0).astype(np.int64)
    more_hours = c.u("more_hours") < np.where(hours > 0, 0.08, 0.45)
    deaths = np.minimum(c.poisson("deaths", confirmed * 0.02 + people * 0.0003 * c.intensity), people)
    return CommunityAnswers(
        shared=_shared(c),
        people=people,
        people_confirmed=confirmed,
        people_suspected=suspected,
        staff=staff,
        staff_absent_covid=absent,
        hours_unable=hours,
        more_hours=more_hours,
        deaths=deaths,
    )


def rag_codes(ppe_days: np.ndarray, days: np.ndarray) -> np.ndarray:
    """CT's scale for days of supply; Blue (long-term) only for answers given from 2020-08-10."""
    codes = np.select([ppe_days < 2, ppe_days < 7], [0, 1], default=2)
    blue = (ppe_days >= LONG_TERM_SUPPLY_DAYS) & (np.asarray(days) >= BLUE_PPE_FROM.toordinal())
    return np.where(blue, 3, codes)


def _shared(c: _Context) -> Shared:
    return Shared(
        minute_of_day=_minute_of_day(c),
        second=(c.u("second") * 60).astype(np.int64),
        ppe_days=_ppe_days(c),
        icf_single_site=_sticky_choice(c, "icf_single_site", np.array([0.55, 0.15, 0.30])),
        icf_full_pay=_sticky_choice(c, "icf_full_pay", np.array([0.8, 0.2])),
        icf_funding=_funding(c),
    )


def _minute_of_day(c: _Context) -> np.ndarray:
    base = c.static.scoped("time")
    hours = base.choice("hour", c.keys, _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum(), c.days) + _FIRST_HOUR
    minute = hours * 60 + (base.uniform("minute", c.keys, c.days) * 60).astype(np.int64)
    if not c.variant:
        return minute
    # an earlier submission of the same day, between 06:00 and a minute before the final one
    earlier = c.daily.uniform("earlier", c.keys, c.days)
    span = minute - _EARLIEST_RESUBMISSION_MINUTE
    return _EARLIEST_RESUBMISSION_MINUTE + (earlier * span).astype(np.int64)


def _ppe_days(c: _Context) -> np.ndarray:
    supply = 20.0 * np.exp(0.6 * c.static.normal("ppe_supply", c.keys))
    factor = np.interp(
        c.days,
        [date(2020, 4, 20).toordinal(), date(2020, 7, 15).toordinal(), date(2021, 1, 1).toordinal()],
        [0.35, 1.0, 1.6],
    )
    today = np.exp(0.35 * c.z("ppe_day"))
    items = [np.exp(0.35 * c.z(f"ppe:{item}")) for item in PPE_ITEMS]
    return np.stack([np.clip(np.floor(supply * factor * today * i), 0, 365) for i in items]).astype(np.int64)


def _visiting(c: _Context, outbreak: np.ndarray) -> np.ndarray:
    days = c.days
    eras = [
        days < date(2020, 3, 16).toordinal(),
        in_lockdown(days),
        days < date(2021, 3, 8).toordinal(),
        days < date(2021, 7, 19).toordinal(),
    ]
    probabilities = np.select(
        [e[:, None] for e in eras],
        [
            np.array([0.9, 0.09, 0.01]),
            np.array([0.03, 0.22, 0.75]),
            np.array([0.05, 0.6, 0.35]),
            np.array([0.3, 0.6, 0.1]),
        ],
        default=np.array([0.55, 0.4, 0.05]),
    )
    status = c.daily.choice("visiting", c.keys, probabilities, days)
    return np.where(outbreak & (c.u("visiting_outbreak") < 0.8), VISITING.index("Closed"), status)


def _sticky_choice(c: _Context, name: str, probabilities: np.ndarray) -> np.ndarray:
    """A location's usual answer, changed on the odd day."""
    usual = c.static.choice(name, c.keys, probabilities)
    today = c.daily.choice(name, c.keys, probabilities, c.days)
    return np.where(c.u(f"{name}:changed") < 0.05, today, usual)


def _funding(c: _Context) -> np.ndarray:
    progress = np.clip((c.days - ICF_FROM.toordinal()) / 60.0, 0.0, 1.0)
    yes = 0.45 + 0.45 * progress
    not_yet = 0.45 * (1.0 - progress)
    probabilities = np.stack([yes, 1.0 - yes - not_yet, not_yet], axis=1)
    return c.daily.choice("icf_funding", c.keys, probabilities, c.days)
