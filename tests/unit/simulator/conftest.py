from __future__ import annotations

import pytest
from sim_helpers import DIRECTORY_AS_OF

from careshare_sim import MessRates, World


@pytest.fixture(scope="session")
def small_world(local_authorities) -> World:
    return World(7, 800, 600, local_authorities, DIRECTORY_AS_OF)


@pytest.fixture(scope="session")
def clean_world(local_authorities) -> World:
    return World(7, 800, 600, local_authorities, DIRECTORY_AS_OF, mess=MessRates.clean())


@pytest.fixture(scope="session")
def large_world(local_authorities) -> World:
    """Big enough for mess rates to be measured within a few tenths of their values."""
    return World(11, 6000, 4000, local_authorities, DIRECTORY_AS_OF)
