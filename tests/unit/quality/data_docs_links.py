"""The links of a Data Docs page, checked to stay inside the quality root (unit and integration tests)."""

from __future__ import annotations

import posixpath
from html.parser import HTMLParser


class Links(HTMLParser):
    """Every href and src of a page, and the text of its inline scripts."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.scripts: list[str] = []
        self._tag = ""
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag = tag
        self.links += [value for name, value in attrs if name in ("href", "src") and value is not None]

    def handle_endtag(self, tag: str) -> None:
        self._tag = ""

    def handle_data(self, data: str) -> None:
        if self._tag == "script":
            self.scripts.append(data)


def linked_keys(key: str, page: str) -> list[str]:
    """The objects a page at `key` links to, as keys under the quality root; fails on any outside URL."""
    parsed = Links(page)
    assert not any("http" in script for script in parsed.scripts), key
    targets = []
    for link in parsed.links:
        assert "://" not in link and not link.startswith("//"), (key, link)
        if link.startswith("data:"):
            continue
        target = posixpath.normpath(posixpath.join(posixpath.dirname(key), link))
        assert not target.startswith(".."), (key, link)
        targets.append(target)
    return targets
