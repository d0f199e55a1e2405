"""A platform on SQLite with local-folder stores: the orchestration functions against real SQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from careshare.config import Settings
from careshare.resources import Platform


@pytest.fixture
def platform(tmp_path) -> Iterator[Platform]:
    settings = Settings.from_env(
        {
            "CARESHARE_HOME": str(tmp_path),
            "CARESHARE_RAW_ARCHIVE_URI": str(tmp_path / "raw"),
            "CARESHARE_PUBLISH_URI": str(tmp_path / "published"),
            "CARESHARE_QUALITY_URI": str(tmp_path / "quality"),
        }
    )
    built = Platform.from_settings(settings)
    built.warehouse.migrate()
    yield built
    built.warehouse.engine.dispose()
