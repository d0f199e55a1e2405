"""The mutable pointers readers start from, each changed only by compare-and-swap.

Releases of different report dates commit concurrently (the publish task is mapped over dates),
so every pointer is read with its entity tag and replaced only if nobody changed it since.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from careshare.storage import ObjectStore

SWAP_ATTEMPTS = 25

Document = dict[str, Any]


class ConcurrentUpdate(RuntimeError):
    pass


def canonical_json(document: Document) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def read_json(store: ObjectStore, key: str) -> Document | None:
    found = store.get_tagged(key)
    return json.loads(found[0]) if found else None


def swap_json(
    store: ObjectStore,
    key: str,
    change: Callable[[Document | None], Document],
    before_write: Callable[[Document], None] | None = None,
) -> Document:
    """Apply `change` to the document at `key` atomically; no write when nothing changes.
    `before_write` is called with the changed document before each attempt to write it, and once
    more with the document found if a lost attempt turns out to be needed no longer."""
    attempted = False
    for _ in range(SWAP_ATTEMPTS):
        found = store.get_tagged(key)
        current = json.loads(found[0]) if found else None
        updated = change(current)
        if updated == current:
            if attempted and before_write and current is not None:
                before_write(current)
            return updated
        if before_write:
            before_write(updated)
            attempted = True
        data = canonical_json(updated)
        written = store.put(key, data, if_match=found[1]) if found else store.put(key, data, if_absent=True)
        if written:
            return updated
    raise ConcurrentUpdate(f"{key}: still changing after {SWAP_ATTEMPTS} attempts")


def newer(candidate: Document, current: Document | None) -> bool:
    """A pointer moves forward only: to a later report date, or a later version of the same date."""
    if current is None:
        return True
    return (candidate["report_date"], candidate["version"]) > (current["report_date"], current["version"])


def with_latest(pointer: Document) -> Callable[[Document | None], Document]:
    def change(current: Document | None) -> Document:
        return pointer if newer(pointer, current) else current  # type: ignore[return-value]

    return change


def with_release(scope_header: Document, entry: Document, latest: Document) -> Callable[[Document | None], Document]:
    """Record one council's release of a report date in its index, and move its latest pointer."""

    def change(current: Document | None) -> Document:
        index = json.loads(json.dumps(current)) if current else {**scope_header, "latest": None, "report_dates": {}}
        day = index["report_dates"].setdefault(entry["report_date"], {"current_version": 0, "versions": []})
        if all(v["version"] != entry["version"] for v in day["versions"]):
            day["versions"] = sorted([*day["versions"], entry], key=lambda v: v["version"])
        day["current_version"] = max(day["current_version"], entry["version"])
        if newer(latest, index["latest"]):
            index["latest"] = latest
        return index

    return change
