from __future__ import annotations

import pytest

from careshare.sources import delivery


@pytest.fixture(autouse=True)
def fresh_head_refusals(monkeypatch):
    """Each test starts with no server remembered as refusing HEAD (a port can be reused)."""
    monkeypatch.setattr(delivery, "HEAD_REFUSED", delivery.HeadRefusals())
