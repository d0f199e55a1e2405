"""Who answered which collection on which day.

Each location answers through a channel during a window of days. On a day inside its window it
answers with a probability set by its own propensity and the day's completion rate, always on
the window's first day, and at least once in every block of ANSWER_BLOCK_DAYS days, so its
latest answer as of any day is found by looking back at most two blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import IntEnum

import numpy as np

from careshare.feeds import (
    CQC_EXTENDED_SERVICES_FROM,
    CQC_FORM_LAST_DAY,
    CQC_FORM_OPENS,
    CQC_UPDATE,
    TRANSITION,
    Feed,
)

from .hashing import Draws
from .population import CARE_HOMES, NEVER, Population, Service
from .timeline import CARE_HOME_COLLECTION_START, completion_rate

ANSWER_BLOCK_DAYS = 14
LOOKBACK_DAYS = 2 * ANSWER_BLOCK_DAYS
LONGEST_LINGER_DAYS = 60
_BLOCK_EPOCH = date(2020, 1, 6).toordinal()
_MAX_DAILY_PROBABILITY = 0.97


class Transition(IntEnum):
    """How a community service moved from the CQC form to CT home care on 2020-11-30."""

    NOT_APPLICABLE = 0
    CT_ONLY = 1  # most: stopped the CQC form and started CT in the first days
    BOTH = 2  # answered both during the overlap, on the same days
    CQC_UNTIL_CLOSE = 3  # kept to the CQC form until it closed, then moved to CT


@dataclass(frozen=True, eq=False)
class Window:
    first: np.ndarray  # ordinal of the first answer, NEVER for locations outside the channel
    last: np.ndarray  # ordinal of the last day an answer is possible


class Activity:
    def __init__(
        self,
        seed: int,
        population: Population,
        overlap_both: float,
        overlap_cqc_only: float,
        lingering_share: float = 0.0,
    ):
        self.population = population
        self.draws = Draws(seed, "activity")
        self.transition = _transitions(population, overlap_both, overlap_cqc_only)
        self.lingering = self._lingering(lingering_share)
        self.windows = {
            Feed.CT_CARE_HOMES: self._care_home_window(),
            Feed.CQC_UPDATE: self._cqc_window(),
            Feed.CT_HOME_CARE: self._home_care_window(),
        }

    def answered(self, feed: Feed, idx: np.ndarray, days: np.ndarray | int) -> np.ndarray:
        window = self.windows[feed]
        days = np.broadcast_to(np.asarray(days, dtype=np.int64), idx.shape)
        first, last = window.first[idx], window.last[idx]
        keys = self.population.key[idx]
        channel = "care_homes" if feed is Feed.CT_CARE_HOMES else "community"
        likelihood = np.minimum(
            self.population.propensity[idx] * completion_rate(self.draws, channel, days),
            _MAX_DAILY_PROBABILITY,
        )
        by_chance = self.draws.uniform("answered", keys, days) < likelihood
        block, day_in_block = np.divmod(days - _BLOCK_EPOCH, ANSWER_BLOCK_DAYS)
        forced_day = (self.draws.uniform("forced", keys, block) * ANSWER_BLOCK_DAYS).astype(np.int64)
        inside = (days >= first) & (days <= last)
        return inside & ((days == first) | by_chance | (day_in_block == forced_day))

    def last_answer(self, feed: Feed, idx: np.ndarray, as_of: np.ndarray | int) -> np.ndarray:
        """The latest day each location answered on or before `as_of` (it must have answered)."""
        as_of = np.broadcast_to(np.asarray(as_of, dtype=np.int64), idx.shape)
        result = np.full(idx.shape, -1, dtype=np.int64)
        pending = np.arange(len(idx))
        for back in range(LOOKBACK_DAYS):
            days = as_of[pending] - back
            found = self.answered(feed, idx[pending], days)
            result[pending[found]] = days[found]
            pending = pending[~found]
            if not len(pending):
                break
        result[pending] = self.windows[feed].first[idx[pending]]
        return result

    def has_answered(self, feed: Feed, day: date) -> np.ndarray:
        """Locations with at least one answer on or before `day` that are still registered."""
        window = self.windows[feed]
        ordinal = day.toordinal()
        return np.flatnonzero((window.first <= ordinal) & (window.last >= ordinal))

    def submitted(self, feed: Feed, day: date) -> np.ndarray:
        """Locations that answered on `day` itself."""
        candidates = self.has_answered(feed, day)
        return candidates[self.answered(feed, candidates, day.toordinal())]

    def members(self, feed: Feed, day: date) -> np.ndarray:
        """Locations with a row in the feed's file for `day` (before any mess)."""
        if feed is Feed.CQC_UPDATE:
            return self.submitted(feed, day) if CQC_UPDATE.expected_on(day) else np.zeros(0, dtype=np.int64)
        return self.has_answered(feed, day)

    def _ramp(self, name: str, mean_days: float, longest: int) -> np.ndarray:
        u = self.draws.uniform(f"ramp:{name}", self.population.key)
        return np.minimum(np.floor(-np.log1p(-u) * mean_days), longest).astype(np.int64)

    def _registered_from(self) -> np.ndarray:
        return self.population.registration_day + self._ramp("after_registration", 5.0, 30)

    def _lingering(self, share: float) -> np.ndarray:
        """Days a deregistered location stays in the collections after deregistration (mostly none)."""
        closed = self.population.deregistration_day != NEVER
        lingers = closed & (self.draws.uniform("lingers", self.population.key) < share)
        return np.where(lingers, 1 + self._ramp("lingering", 20.0, LONGEST_LINGER_DAYS - 1), 0)

    def _window(self, eligible: np.ndarray, first: np.ndarray, last: np.ndarray) -> Window:
        first = np.maximum(first, self._registered_from())
        last = np.minimum(last, self.population.deregistration_day - 1 + self.lingering)
        usable = eligible & (first <= last)
        return Window(first=np.where(usable, first, NEVER), last=np.where(usable, last, -1))

    def _care_home_window(self) -> Window:
        population = self.population
        first = CARE_HOME_COLLECTION_START.toordinal() + self._ramp("ct_care_homes", 7.0, 90)
        return self._window(population.is_service(*CARE_HOMES), first, np.full(len(population), NEVER - 1))

    def _cqc_window(self) -> Window:
        population = self.population
        opens = np.where(
            population.service == Service.DOMICILIARY,
            CQC_FORM_OPENS.toordinal(),
            CQC_EXTENDED_SERVICES_FROM.toordinal(),
        )
        closes = np.where(
            self.transition == Transition.CT_ONLY, TRANSITION.toordinal() - 1, CQC_FORM_LAST_DAY.toordinal()
        )
        eligible = self.transition != Transition.NOT_APPLICABLE
        return self._window(eligible, opens + self._ramp("cqc_update", 6.0, 60), closes)

    def _home_care_window(self) -> Window:
        transition = self.transition
        starts = np.where(
            transition == Transition.CQC_UNTIL_CLOSE,
            CQC_FORM_LAST_DAY.toordinal() + 1,
            TRANSITION.toordinal(),
        )
        ramp = np.select(
            [transition == Transition.BOTH, transition == Transition.CT_ONLY],
            [self._ramp("overlap_both", 0.7, 2), self._ramp("ct_home_care", 1.5, 20)],
            default=self._ramp("after_cqc", 2.0, 10),
        )
        eligible = transition != Transition.NOT_APPLICABLE
        return self._window(eligible, starts + ramp, np.full(len(self.population), NEVER - 1))


def _transitions(population: Population, both: float, cqc_only: float) -> np.ndarray:
    u = population.transition_draw
    behaviour = np.select(
        [u < both, u < both + cqc_only],
        [Transition.BOTH, Transition.CQC_UNTIL_CLOSE],
        default=Transition.CT_ONLY,
    )
    community = population.is_service(Service.DOMICILIARY, Service.EXTRA_CARE, Service.SUPPORTED_LIVING)
    return np.where(community, behaviour, Transition.NOT_APPLICABLE).astype(np.int8)
