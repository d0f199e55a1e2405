"""Capacity Tracker files: one row per home or service that has ever answered, latest answers."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from careshare.feeds import CT_CARE_HOMES, CT_HOME_CARE, FeedSpec

from . import cells
from .answers import (
    ICF_FULL_PAY,
    ICF_FUNDING,
    ICF_SINGLE_SITE,
    RAG_CODES,
    VISITING,
    Shared,
    care_home_answers,
    community_answers,
    rag_codes,
)
from .population import CT_SERVICE_TYPE, Service
from .table import Row, RowRenderer, Table

if TYPE_CHECKING:
    from .world import World

_PPE_COLUMNS = ("PPE_Masks", "PPE_Gloves", "PPE_Aprons", "PPE_Eye_Protection", "PPE_Hand_Hygiene")
CT_IDENTITY = frozenset(
    {
        *("CT_Home_ID", "CT_Service_ID", "CQC_Location_ID", "ODS_Code"),
        *("Home_Name", "Service_Name", "Service_Type", "Postcode", "Local_Authority"),
    }
)


def ct_care_homes_table(world: World, report_date: date) -> Table:
    return _table(world, CT_CARE_HOMES, report_date, _care_home_renderer(world, report_date))


def ct_home_care_table(world: World, report_date: date) -> Table:
    return _table(world, CT_HOME_CARE, report_date, _home_care_renderer(world, report_date))


def _table(world: World, spec: FeedSpec, report_date: date, render: RowRenderer) -> Table:
    idx = world.activity.has_answered(spec.feed, report_date)
    answered_on = world.activity.last_answer(spec.feed, idx, report_date.toordinal())
    ct_ids = world.population.ct_id[idx].tolist()
    rows = [
        Row(cells=row_cells, location=int(location), record_id=str(ct_id), answered_on=int(day), order=order)
        for (row_cells, order), location, ct_id, day in zip(
            render(idx, answered_on, 0), idx.tolist(), ct_ids, answered_on.tolist(), strict=True
        )
    ]
    columns = tuple(c.name for c in spec.columns_on(report_date))
    return Table(spec.feed, report_date, columns, CT_IDENTITY & set(columns), rows, render)


def _identity(world: World, idx: np.ndarray, report_date: date) -> dict[str, list[str]]:
    population = world.population
    return {
        "CQC_Location_ID": cells.pick(population.location_id, idx),
        "ODS_Code": [code or "" for code in cells.pick(population.ods_code, idx)],
        "Postcode": cells.pick(population.postal_code, idx),
        "Local_Authority": world.council_names_on(report_date)[population.council[idx]].tolist(),
    }


def _shared(shared: Shared, days: np.ndarray) -> dict[str, list[str]]:
    rag = rag_codes(shared.ppe_days, days)
    values = {column: cells.labels(rag[i], RAG_CODES) for i, column in enumerate(_PPE_COLUMNS)}
    values["Last_Updated"] = cells.uk_timestamps(days, shared.minute_of_day)
    values["ICF_Staff_Single_Site"] = cells.labels(shared.icf_single_site, ICF_SINGLE_SITE)
    values["ICF_Full_Pay_When_Isolating"] = cells.labels(shared.icf_full_pay, ICF_FULL_PAY)
    values["ICF_Funding_Received"] = cells.labels(shared.icf_funding, ICF_FUNDING)
    return values


def _with_order(rows: list[list[str]], ct_ids: np.ndarray) -> list[tuple[list[str], float]]:
    return list(zip(rows, map(float, ct_ids.tolist()), strict=True))


def _care_home_renderer(world: World, report_date: date) -> RowRenderer:
    columns = CT_CARE_HOMES.columns_on(report_date)

    def render(idx: np.ndarray, days: np.ndarray, variant: int) -> list[tuple[list[str], float]]:
        population = world.population
        a = care_home_answers(world.answer_draws, population, idx, days, variant)
        values = _identity(world, idx, report_date) | _shared(a.shared, days)
        values |= {
            "CT_Home_ID": cells.integers(population.ct_id[idx]),
            "Home_Name": cells.pick(population.name, idx),
            "Beds_Total": cells.integers(a.beds_total),
            "Beds_Vacant": cells.integers(a.beds_vacant),
            "Accepting_Admissions": cells.yes_no(a.accepting_admissions),
            "Residents_Total": cells.integers(a.residents_total),
            "Residents_Covid_Confirmed": cells.integers(a.residents_confirmed),
            "Residents_Covid_Suspected": cells.integers(a.residents_suspected),
            "Residents_Newly_Confirmed_Today": cells.integers(a.residents_new_confirmed),
            "Residents_Newly_Suspected_Today": cells.integers(a.residents_new_suspected),
            "Staff_Employed": cells.integers(a.staff_employed),
            "Staff_Absent_Covid": cells.integers(a.staff_absent_covid),
            "Staff_Absent_Other": cells.integers(a.staff_absent_other),
            "Staff_Newly_Confirmed_Today": cells.integers(a.staff_new_confirmed),
            "Staff_Newly_Suspected_Today": cells.integers(a.staff_new_suspected),
            "Visiting_Status": cells.labels(a.visiting, VISITING),
        }
        return _with_order(cells.rows(columns, values), population.ct_id[idx])

    return render


def _home_care_renderer(world: World, report_date: date) -> RowRenderer:
    columns = CT_HOME_CARE.columns_on(report_date)
    service_type = np.array([CT_SERVICE_TYPE.get(s, "") for s in Service], dtype=object)

    def render(idx: np.ndarray, days: np.ndarray, variant: int) -> list[tuple[list[str], float]]:
        population = world.population
        a = community_answers(world.answer_draws, population, idx, days, variant)
        values = _identity(world, idx, report_date) | _shared(a.shared, days)
        values |= {
            "CT_Service_ID": cells.integers(population.ct_id[idx]),
            "Service_Name": cells.pick(population.name, idx),
            "Service_Type": service_type[population.service[idx]].tolist(),
            "People_Supported": cells.integers(a.people),
            "People_Covid_Confirmed": cells.integers(a.people_confirmed),
            "People_Covid_Suspected": cells.integers(a.people_suspected),
            "Care_Workers_Employed": cells.integers(a.staff),
            "Care_Workers_Absent_Covid": cells.integers(a.staff_absent_covid),
            "Can_Provide_More_Hours": cells.yes_no(a.more_hours),
            "Hours_Unable_To_Deliver": cells.integers(a.hours_unable),
        }
        return _with_order(cells.rows(columns, values), population.ct_id[idx])

    return render
