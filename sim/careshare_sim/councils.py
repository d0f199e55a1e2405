"""A small world's councils: a few of today's, with every council they replace, so that a test's
publication has a handful of council prefixes instead of every council's."""

from __future__ import annotations

from careshare.councils import LocalAuthorities


def some_councils(authorities: LocalAuthorities, *names: str) -> LocalAuthorities:
    """The councils called `names`, and the councils they replace, followed back."""
    wanted = set(names)
    chosen = [row for row in authorities if row.name in wanted]
    missing = wanted - {row.name for row in chosen}
    if missing:
        raise ValueError(f"no council called {sorted(missing)} in the reference")
    codes = authorities.with_predecessors({row.code for row in chosen})
    return LocalAuthorities([row for row in authorities if row.code in codes])
