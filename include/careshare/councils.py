"""ONS codes of English councils with social services, valid by date (the packaged data/local_authorities.csv)."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

LA_CODE_PATTERN = re.compile(r"^E(06|07|08|09|10)[0-9]{6}$")
OPEN_END = date(9999, 12, 31)


@dataclass(frozen=True)
class LocalAuthority:
    code: str
    name: str
    region_code: str
    region_name: str
    valid_from: date
    valid_to: date | None
    replaces: str | None

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class UnknownLocalAuthority(LookupError):
    pass


def name_key(name: str) -> str:
    """Case, accent, punctuation and spacing-insensitive form of a council name."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


class LocalAuthorities:
    def __init__(self, rows: list[LocalAuthority]):
        self._rows = rows
        self._by_code = {r.code: r for r in rows}
        self._by_name: dict[str, list[LocalAuthority]] = defaultdict(list)
        for row in rows:
            self._by_name[name_key(row.name)].append(row)

    @classmethod
    def from_csv(cls, path: Path) -> LocalAuthorities:
        with path.open(newline="", encoding="utf-8") as handle:
            return cls([_parse_row(row) for row in csv.DictReader(handle)])

    def __iter__(self):
        return iter(self._rows)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> LocalAuthority:
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownLocalAuthority(f"{code!r} is not an ONS code in the reference") from None

    def with_predecessors(self, codes: set[str]) -> frozenset[str]:
        """`codes` and every council they replace, followed back."""
        found = set(codes)
        pending = list(codes)
        while pending:
            replaced = self.get(pending.pop()).replaces
            if replaced and replaced not in found:
                found.add(replaced)
                pending.append(replaced)
        return frozenset(found)

    def valid_on(self, day: date) -> list[LocalAuthority]:
        return [r for r in self._rows if r.valid_on(day)]

    def code_for(self, name: str, on: date) -> LocalAuthority:
        """The council a location in `name` (today's council name) belonged to on `on`.

        The CQC directory names today's council; before a reorganisation its area was
        reported under the council it `replaces`, followed back until one is valid.
        """
        candidates = self._by_name.get(name_key(name), [])
        if not candidates:
            raise UnknownLocalAuthority(f"no council called {name!r} in the reference")
        for row in candidates:
            if row.valid_on(on):
                return row
        for row in candidates:
            predecessor = self._predecessor_on(row, on)
            if predecessor:
                return predecessor
        raise UnknownLocalAuthority(f"council {name!r} has no code valid on {on.isoformat()}")

    def _predecessor_on(self, row: LocalAuthority, on: date) -> LocalAuthority | None:
        seen = set()
        while row.replaces and row.replaces not in seen and on < row.valid_from:
            seen.add(row.replaces)
            row = self.get(row.replaces)
            if row.valid_on(on):
                return row
        return None

    def name_periods(self) -> list[tuple[str, date, date, str]]:
        """(name key, from, to, code): the code that `code_for` gives for a name over each period."""
        periods: dict[str, list[tuple[date, date, str]]] = defaultdict(list)
        for row in self._rows:
            key = name_key(row.name)
            periods[key].append((row.valid_from, row.valid_to or OPEN_END, row.code))
            successor, predecessor_code = row, row.replaces
            while predecessor_code:
                predecessor = self.get(predecessor_code)
                end = min(predecessor.valid_to or OPEN_END, date.fromordinal(successor.valid_from.toordinal() - 1))
                periods[key].append((predecessor.valid_from, end, predecessor.code))
                successor, predecessor_code = predecessor, predecessor.replaces
        return [
            (key, start, end, code) for key, spans in sorted(periods.items()) for start, end, code in sorted(set(spans))
        ]


def _parse_row(row: dict[str, str]) -> LocalAuthority:
    code = row["la_code"].strip()
    if not LA_CODE_PATTERN.match(code):
        raise ValueError(f"local_authorities.csv: {code!r} is not an English council ONS code")
    return LocalAuthority(
        code=code,
        name=row["la_name"].strip(),
        region_code=row["region_code"].strip(),
        region_name=row["region_name"].strip(),
        valid_from=date.fromisoformat(row["valid_from"]),
        valid_to=date.fromisoformat(row["valid_to"]) if row["valid_to"].strip() else None,
        replaces=row["replaces"].strip() or None,
    )


@cache
def load_local_authorities(path: Path) -> LocalAuthorities:
    return LocalAuthorities.from_csv(path)
