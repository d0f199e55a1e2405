"""Vectorised normalisation of identifiers, postcodes, timestamps, counts and answers.

Each parser returns the converted series and a mask of cells that held text but could not
be converted, so the caller can report them instead of losing them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

UK_TIME_ZONE = "Europe/London"
PPE_AMBER_FROM_DAYS = 2
PPE_GREEN_FROM_DAYS = 7

_ID_DIGITS = r"(?P<digits>[0-9]{9,11})"
_POSTCODE = r"^(?P<outward>[A-Z]{1,2}[0-9][A-Z0-9]?)(?P<inward>[0-9][A-Z]{2})$"
_ISO_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$"
_UK_TIMESTAMP = r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}$"


def _blank_to_na(values: pd.Series) -> pd.Series:
    stripped = values.astype("str").str.strip()
    return stripped.mask(stripped == "")


def normalise_location_id(values: pd.Series) -> pd.Series:
    """`1-` then 9 to 11 digits; trims, drops inner spaces, restores a missing `1-`.

    Anything that still does not fit is returned cleaned but unchanged in shape, so the
    id-pattern expectation reports it.
    """
    cleaned = _blank_to_na(values).str.replace(r"\s+", "", regex=True).str.upper()
    digits = cleaned.str.extract(rf"^(?:1-)?{_ID_DIGITS}$")["digits"]
    return ("1-" + digits).where(digits.notna(), cleaned)


def normalise_ods_code(values: pd.Series) -> pd.Series:
    return _blank_to_na(values).str.replace(r"\s+", "", regex=True).str.upper()


def normalise_postcode(values: pd.Series) -> pd.Series:
    """Upper case with one space before the inward code (`ab12cd` -> `AB1 2CD`)."""
    compact = _blank_to_na(values).str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
    compact = compact.mask(compact == "")
    parts = compact.str.extract(_POSTCODE)
    formatted = parts["outward"] + " " + parts["inward"]
    return formatted.where(parts["outward"].notna(), compact)


def normalise_text(values: pd.Series) -> pd.Series:
    return _blank_to_na(values).str.replace(r"\s+", " ", regex=True)


MAX_COUNT = 2**31 - 1  # the warehouse's INTEGER; no count of people, beds or hours comes near it


def parse_count(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers that fit the warehouse (negatives kept for the bounds check to report)."""
    text = _blank_to_na(values)
    whole = text.str.fullmatch(r"[+-]?[0-9]{1,10}").fillna(False).astype(bool)
    numbers = pd.to_numeric(text.where(whole), errors="coerce").astype("Int64")
    fits = whole & (numbers.abs() <= MAX_COUNT).fillna(False).astype(bool)
    return numbers.where(fits), text.notna() & ~fits


def parse_uk_local_timestamp(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`DD/MM/YYYY HH:MM` in UK wall time to UTC.

    In the autumn repeated hour the earlier (BST) instant is taken; a time in the spring gap
    moves forward to the first valid instant.
    """
    text = _blank_to_na(values)
    shaped = text.str.fullmatch(_UK_TIMESTAMP).fillna(False).astype(bool)
    wall = pd.to_datetime(text.where(shaped), format="%d/%m/%Y %H:%M", errors="coerce")
    ambiguous = np.ones(len(wall), dtype=bool)
    local = wall.dt.tz_localize(UK_TIME_ZONE, ambiguous=ambiguous, nonexistent="shift_forward")
    return local.dt.tz_convert("UTC"), text.notna() & local.isna()


def parse_iso_timestamp(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 with an explicit offset to UTC; a time without offset is ambiguous, so bad."""
    text = _blank_to_na(values)
    shaped = text.str.fullmatch(_ISO_WITH_OFFSET).fillna(False).astype(bool)
    instants = pd.to_datetime(text.where(shaped), utc=True, format="ISO8601", errors="coerce")
    return instants, text.notna() & instants.isna()


def canonical_choice(values: pd.Series, allowed: tuple[str, ...]) -> pd.Series:
    """Case- and space-insensitive match onto the allowed spelling; others kept as typed."""
    text = _blank_to_na(values)
    lookup = {value.casefold(): value for value in allowed}
    return text.str.casefold().map(lookup).fillna(text).astype("str").mask(text.isna())


def ppe_days_to_rag(days: pd.Series) -> pd.Series:
    """CQC days of supply on CT's scale: under 2 days Red, 2 to 6 Amber, 7 or more Green."""
    numeric = days.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    rag = np.select([numeric < PPE_AMBER_FROM_DAYS, numeric < PPE_GREEN_FROM_DAYS], ["Red", "Amber"], default="Green")
    return pd.Series(rag, index=days.index, dtype="str").mask(np.isnan(numeric) | (numeric < 0))


def uk_local_date(instants: pd.Series) -> pd.Series:
    return instants.dt.tz_convert(UK_TIME_ZONE).dt.tz_localize(None).dt.normalize()
