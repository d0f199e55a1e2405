"""The simulated outside world: registered locations, what they answered, the files and the truth."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, datetime
from typing import Any

import numpy as np

from careshare.feeds import FEEDS, Feed
from careshare.reference import LocalAuthorities, UnknownLocalAuthority

from .activity import Activity, Transition
from .directory import Directory
from .files import Variant, Version, version_at, versions
from .hashing import Draws
from .mess import MessRates
from .population import CARE_HOMES, COMMUNITY, Population, Service, build_population
from .render import RenderedFile, build_file

NATIONAL_CARE_HOMES = 15_500
NATIONAL_COMMUNITY_SERVICES = 10_000
SHARED_LIVES_PER_COMMUNITY_SERVICE = 0.03


class World:
    """Everything the simulator serves, determined by its arguments alone."""

    def __init__(
        self,
        seed: int,
        care_homes: int,
        community_services: int,
        authorities: LocalAuthorities,
        directory_as_of: date,
        *,
        shared_lives: int | None = None,
        mess: MessRates | None = None,
        cache_size: int = 16,
    ):
        if shared_lives is None:
            shared_lives = max(1, round(community_services * SHARED_LIVES_PER_COMMUNITY_SERVICE))
        self.seed = seed
        self.authorities = authorities
        self.directory_as_of = directory_as_of
        self.mess = mess or MessRates()
        self.population: Population = build_population(
            seed, care_homes, community_services, shared_lives, authorities, directory_as_of
        )
        self.activity = Activity(
            seed,
            self.population,
            self.mess.overlap_both_sources,
            self.mess.overlap_cqc_only,
            self.mess.deregistered_reporting,
        )
        self.directory = Directory(seed, self.population, directory_as_of)
        self.answer_draws = Draws(seed, "answers")
        self.mess_draws = Draws(seed, "mess")
        self._cache: OrderedDict[tuple[Feed, date, Variant], RenderedFile | None] = OrderedDict()
        self._cache_size = cache_size
        self._council_names: dict[date, np.ndarray] = {}
        self._lock = threading.Lock()

    @classmethod
    def national(cls, seed: int, authorities: LocalAuthorities, directory_as_of: date, **options: Any) -> World:
        return cls(seed, NATIONAL_CARE_HOMES, NATIONAL_COMMUNITY_SERVICES, authorities, directory_as_of, **options)

    def versions(self, feed: Feed | str, report_date: date) -> tuple[Version, ...]:
        """Every version of the feed's file for the date, in publication order; () when there is no file."""
        feed = Feed(feed)
        if not FEEDS[feed].expected_on(report_date):
            return ()
        return versions(self.mess_draws, self.mess, feed, report_date)

    def version_at(self, feed: Feed | str, report_date: date, moment: datetime) -> Version | None:
        return version_at(self.versions(feed, report_date), moment)

    def rendered(self, feed: Feed | str, report_date: date, variant: Variant | None = None) -> RenderedFile | None:
        """The file as published in `variant`; by default its latest version."""
        if variant is None:
            found = self.versions(feed, report_date)
            variant = found[-1].variant if found else Variant()
        key = (Feed(feed), report_date, variant)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        result = build_file(self, key[0], report_date, variant)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result

    def ground_truth(self, feed: Feed | str, report_date: date, variant: Variant | None = None) -> list[dict[str, Any]]:
        """One entry per data row of the file, in file order; empty when there is no file."""
        rendered = self.rendered(feed, report_date, variant)
        return [row.to_dict() for row in rendered.rows] if rendered else []

    def file_truth(self, feed: Feed | str, report_date: date) -> dict[str, Any] | None:
        """The latest file's truth, with every version published (time, faults, sha256)."""
        rendered = self.rendered(feed, report_date)
        if rendered is None:
            return None
        published = []
        for version in self.versions(feed, report_date):
            content = self.rendered(feed, report_date, version.variant)
            published.append(version.to_dict() | {"sha256": content.file.sha256 if content else None})
        return rendered.file.to_dict() | {"versions": published}

    def directory_truth(self) -> list[dict[str, Any]]:
        """The directory's full detail of every location, plus what only the simulator knows."""
        population = self.population
        truth = []
        for index in range(len(population)):
            service = Service(int(population.service[index]))
            ct_id = int(population.ct_id[index])
            truth.append(
                self.directory.detail(index)
                | {
                    "service": service.name.lower(),
                    "ct_id": ct_id or None,
                    "ct_feed": _ct_feed(service),
                    "transition": Transition(int(self.activity.transition[index])).name.lower(),
                }
            )
        return truth

    def council_names_on(self, day: date) -> np.ndarray:
        """Per council of the population, the name of the council its area belonged to on `day`."""
        names = self._council_names.get(day)
        if names is None:
            names = np.array([self._council_name_on(la.name, day) for la in self.population.councils], dtype=object)
            self._council_names[day] = names
        return names

    def _council_name_on(self, today_name: str, day: date) -> str:
        try:
            return self.authorities.code_for(today_name, day).name
        except UnknownLocalAuthority:
            return today_name


def _ct_feed(service: Service) -> str | None:
    if service in CARE_HOMES:
        return Feed.CT_CARE_HOMES.value
    if service in COMMUNITY:
        return Feed.CT_HOME_CARE.value
    return None
