from __future__ import annotations

import re
from collections import Counter

import numpy as np
from sim_helpers import DIRECTORY_AS_OF

from careshare.feeds import CQC_LOCATION_ID_PATTERN
from careshare_sim import World
from careshare_sim.population import Service


def test_the_same_arguments_build_the_same_world(small_world, local_authorities):
    again = World(7, 800, 600, local_authorities, DIRECTORY_AS_OF)
    assert again.population.location_id == small_world.population.location_id
    assert again.population.name == small_world.population.name
    assert np.array_equal(again.population.ct_id, small_world.population.ct_id)
    assert again.directory_truth() == small_world.directory_truth()


def test_a_different_seed_builds_a_different_world(small_world, local_authorities):
    other = World(8, 800, 600, local_authorities, DIRECTORY_AS_OF)
    assert other.population.location_id != small_world.population.location_id


def test_counts_by_kind_of_service(small_world):
    services = Counter(Service(int(s)) for s in small_world.population.service)
    assert services[Service.NURSING_HOME] + services[Service.RESIDENTIAL_HOME] == 800
    assert services[Service.DOMICILIARY] + services[Service.EXTRA_CARE] + services[Service.SUPPORTED_LIVING] == 600
    assert services[Service.SHARED_LIVES] == 18  # 3% of the community services
    assert services[Service.DOMICILIARY] > services[Service.SUPPORTED_LIVING] > services[Service.EXTRA_CARE] > 0


def test_location_and_provider_ids_follow_the_pattern_and_are_unique(small_world):
    population = small_world.population
    ids = population.location_id + population.providers.provider_id
    assert all(re.match(CQC_LOCATION_ID_PATTERN, i) for i in ids)
    assert len(set(ids)) == len(ids)
    ct_ids = population.ct_id[population.ct_id > 0]
    assert len(set(ct_ids.tolist())) == len(ct_ids)


def test_councils_are_todays_and_regions_match(small_world, local_authorities):
    today = {la.name: la.region_name for la in local_authorities.valid_on(DIRECTORY_AS_OF)}
    truth = small_world.directory_truth()
    assert all(today[row["localAuthority"]] == row["region"] for row in truth)
    assert "Northamptonshire" not in {row["localAuthority"] for row in truth}
    assert len({row["localAuthority"] for row in truth}) > 100


def test_providers_own_their_locations_and_a_few_own_both_kinds(small_world):
    population = small_world.population
    owned = sorted(i for locations in population.providers.locations for i in locations)
    assert owned == list(range(len(population)))
    kinds_per_provider = [
        {bool(population.service[i] <= Service.RESIDENTIAL_HOME) for i in locations}
        for locations in population.providers.locations
    ]
    assert sum(len(kinds) == 2 for kinds in kinds_per_provider) >= 1
    assert max(len(locations) for locations in population.providers.locations) > 5


def test_directory_detail_fields(small_world):
    truth = small_world.directory_truth()
    statuses = Counter(row["registrationStatus"] for row in truth)
    assert 0 < statuses["Deregistered"] < 0.15 * len(truth)
    for row in truth:
        deregistered = row["registrationStatus"] == "Deregistered"
        assert (row["deregistrationDate"] is not None) == deregistered
        assert row["careHome"] == ("Y" if row["service"].endswith("_home") else "N")
        assert (row["numberOfBeds"] or 0) > 0 if row["careHome"] == "Y" else row["numberOfBeds"] is None
        assert re.match(r"^[A-Z]{1,2}[0-9]{1,2} [0-9][A-Z]{2}$", row["postalCode"])
        assert row["odsCode"] is None or re.match(r"^V[A-Z][A-Z0-9]{3}$", row["odsCode"])
    gac = Counter(row["gacServiceTypes"][0]["description"] for row in truth)
    assert {
        "Care home service with nursing",
        "Care home service without nursing",
        "Domiciliary care service",
    } <= set(gac)
    assert Counter(row["gacServiceTypes"][0]["name"] for row in truth)["Shared Lives"] == 18


def test_names_include_the_awkward_ones(local_authorities):
    names = World.national(3, local_authorities, DIRECTORY_AS_OF).population.name
    assert any("," in n for n in names)
    assert any('"' in n for n in names)
    assert any(not n.isascii() for n in names)
    assert any(n[0] in "=+-@" for n in names)
    assert all(n.encode("cp1252") for n in names)
