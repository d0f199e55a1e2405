"""The CQC form's daily file: one row per submission made that day."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from careshare.feeds import CQC_UPDATE, Feed

from . import cells
from .answers import PPE_ITEMS, community_answers
from .population import CQC_SERVICE_TYPE, Service
from .table import Row, RowRenderer, Table
from .timeline import uk_offset

if TYPE_CHECKING:
    from .world import World

CQC_IDENTITY = frozenset({"location_id", "provider_id", "location_name", "service_type"})
PPE_UNKNOWN_SHARE = 0.03


def cqc_update_table(world: World, report_date: date) -> Table:
    idx = world.activity.submitted(Feed.CQC_UPDATE, report_date)
    day = report_date.toordinal()
    render = _renderer(world, report_date)
    rows = [
        Row(
            cells=row_cells,
            location=location,
            record_id=world.population.location_id[location],
            answered_on=day,
            order=order,
        )
        for (row_cells, order), location in zip(render(idx, np.full(len(idx), day), 0), idx.tolist(), strict=True)
    ]
    columns = tuple(c.name for c in CQC_UPDATE.columns_on(report_date))
    return Table(Feed.CQC_UPDATE, report_date, columns, CQC_IDENTITY, rows, render)


def _renderer(world: World, report_date: date) -> RowRenderer:
    columns = CQC_UPDATE.columns_on(report_date)
    offset = uk_offset(report_date)
    service_type = np.array([CQC_SERVICE_TYPE.get(s, "") for s in Service], dtype=object)
    unknown = world.answer_draws.scoped("cqc_ppe_unknown")

    def render(idx: np.ndarray, days: np.ndarray, variant: int) -> list[tuple[list[str], float]]:
        population = world.population
        a = community_answers(world.answer_draws, population, idx, days, variant)
        keys = population.key[idx]
        values = {
            "location_id": cells.pick(population.location_id, idx),
            "provider_id": cells.pick(population.providers.provider_id, population.provider[idx]),
            "location_name": cells.pick(population.name, idx),
            "service_type": service_type[population.service[idx]].tolist(),
            "submitted_at": cells.iso_timestamps(report_date, offset, a.shared.minute_of_day, a.shared.second),
            "people_receiving_care": cells.integers(a.people),
            "people_confirmed_covid": cells.integers(a.people_confirmed),
            "people_suspected_covid": cells.integers(a.people_suspected),
            "staff_total": cells.integers(a.staff),
            "staff_absent_covid": cells.integers(a.staff_absent_covid),
            "unable_to_deliver_care": cells.yes_no(a.hours_unable > 0, "yes", "no"),
            "covid_deaths_since_last_update": cells.integers(a.deaths),
        }
        for i, item in enumerate(PPE_ITEMS):
            blank = unknown.uniform(item, keys, days * 4 + variant) < PPE_UNKNOWN_SHARE
            values[f"ppe_{item}_days"] = np.where(blank, "", cells.integers(a.shared.ppe_days[i])).tolist()
        seconds = a.shared.minute_of_day * 60 + a.shared.second
        order = (seconds + idx / (len(population) + 1.0)).tolist()
        return list(zip(cells.rows(columns, values), order, strict=True))

    return render
