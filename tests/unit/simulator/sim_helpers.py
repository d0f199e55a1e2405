"""Helpers for the simulator's tests (a plain module: conftest is not importable)."""

from __future__ import annotations

import csv
import io
from datetime import date

from careshare_sim.render import RenderedFile

DIRECTORY_AS_OF = date(2024, 6, 30)


def read_rows(rendered: RenderedFile) -> tuple[list[str], list[list[str]]]:
    text = rendered.content.decode(rendered.file.encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    return header, rows


def read_dicts(rendered: RenderedFile) -> list[dict[str, str]]:
    header, rows = read_rows(rendered)
    return [dict(zip(header, row, strict=True)) for row in rows]
