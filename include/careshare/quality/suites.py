"""The GX suites in expectations/*.json: loading, shape checks, and the parameters they take.

Quality owners edit the JSON, so every way of breaking it ends in a `SuiteError` that names
the file and the expectation. Great Expectations is imported only inside functions.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from careshare.conform.conform import CARE_HOME, HARMONISED_ANSWERS, SERVICE_GROUP, harmonised_name
from careshare.feeds import FEEDS, RAG, Feed, FeedSpec, Kind

SEVERITIES = ("critical", "warning")
RULE_ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
UK = ZoneInfo("Europe/London")
_SUITE_KEYS = {"name", "expectations", "meta", "notes", "id"}  # values come from suite_parameters_for
# Suite-level tolerances (fractions in meta) that turn the day's context into parameters.
TOLERANCES = ("row_count_tolerance", "min_completion")


class SuiteError(ValueError):
    """A suite file a quality owner edited is not usable; the message names the file."""


@dataclass(frozen=True)
class Suite:
    path: Path
    document: dict[str, Any]  # the JSON as loaded and checked

    @property
    def name(self) -> str:
        return str(self.document["name"])

    @property
    def expectations(self) -> list[dict[str, Any]]:
        return list(self.document["expectations"])

    @property
    def derived_columns(self) -> dict[str, list[str]]:
        """Columns computed before validation, e.g. `staff_absent_total` = covid + other absences."""
        derived = self.document.get("meta", {}).get("derived_columns", {})
        return {name: list(spec["sum_of"]) for name, spec in derived.items()}

    def parameter_names(self) -> set[str]:
        return set(_parameter_refs([e["kwargs"] for e in self.expectations]))

    def with_derived_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Adds the bounds the suite's tolerances set on the day's context.

        `row_count_low` / `row_count_high`: the previous day's rows (`previous_day_rows`) give or
        take `row_count_tolerance`; no previous day, no bound. `completion_floor`: `min_completion`
        of the locations the directory expects (`expected_locations`); no directory, no floor.
        """
        meta = self.document.get("meta", {})
        previous, tolerance = parameters.get("previous_day_rows"), meta.get("row_count_tolerance")
        expected, share = parameters.get("expected_locations"), meta.get("min_completion")
        bounded = previous is not None and tolerance is not None
        return {
            **parameters,
            "row_count_low": math.floor(previous * (1 - tolerance)) if bounded else 0,
            "row_count_high": math.ceil(previous * (1 + tolerance)) if bounded else None,
            "completion_floor": math.ceil(expected * share) if expected and share is not None else 0,
        }

    def gx_suite(self) -> Any:
        """A fresh `ExpectationSuite`, with GX's own severity set from `meta.severity`."""
        from great_expectations.core.expectation_suite import ExpectationSuite

        return ExpectationSuite(
            name=self.name,
            expectations=[_gx_expectation(e) for e in copy.deepcopy(self.expectations)],
            meta=copy.deepcopy(self.document.get("meta", {})),
            notes=self.document.get("notes"),
        )


def load_suite(path: Path) -> Suite:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"{path}: suite file not found") from None
    except json.JSONDecodeError as error:
        raise SuiteError(f"{path}: not valid JSON ({error})") from None
    _check_shape(document, path)
    _check_with_gx(document, path)
    return Suite(path=path, document=document)


EARLIEST_VALID_SUBMISSION = datetime(2020, 1, 1, tzinfo=ZoneInfo("UTC"))  # no COVID-19 answer predates 2020


def latest_valid_submission(report_date: date) -> datetime:
    """The last instant of the report date in UK time, in UTC."""
    next_midnight = datetime.combine(report_date + timedelta(days=1), time(), tzinfo=UK)
    return next_midnight.astimezone(ZoneInfo("UTC")) - timedelta(microseconds=1)


def day_parameters(report_date: date) -> dict[str, Any]:
    """Parameters of every suite: the report date (midnight, ISO), the first and last valid instants."""
    return {
        "report_date": datetime.combine(report_date, time()).isoformat(),
        "earliest_valid_submission": EARLIEST_VALID_SUBMISSION.isoformat(),
        "latest_valid_submission": latest_valid_submission(report_date).isoformat(),
    }


def suite_parameters_for(spec: FeedSpec, report_date: date) -> dict[str, Any]:
    """Suite parameters from the feed contract: answer sets valid on the date, the time bounds."""
    parameters: dict[str, Any] = day_parameters(report_date)
    for column in spec.columns:
        target = harmonised_name(spec, column.name)
        if column.kind is Kind.PPE_RAG:
            parameters["allowed_ppe"] = list(column.values_on(report_date))
        elif column.kind is Kind.PPE_DAYS:
            parameters["allowed_ppe"] = list(RAG)  # days of supply are mapped onto Red/Amber/Green
        elif column.kind is Kind.CHOICE:
            spelling = HARMONISED_ANSWERS.get(target, {}) if spec.feed is Feed.CQC_UPDATE else {}
            parameters[f"allowed_{target}"] = [spelling.get(v, v) for v in column.values_on(report_date)]
    return parameters


def dataset_parameters(report_date: date, la_codes: list[str], region_codes: list[str]) -> dict[str, Any]:
    """Parameters of the published-dataset suites: every feed's answer sets on the date (merged
    rows come from all of them), the councils and regions valid on the date, the feeds and groups."""
    parameters: dict[str, Any] = day_parameters(report_date)
    for spec in FEEDS.values():
        for name, value in suite_parameters_for(spec, report_date).items():
            if name.startswith("allowed_"):
                parameters[name] = sorted({*parameters.get(name, []), *value})
    parameters["allowed_service_type"] = sorted({*parameters["allowed_service_type"], CARE_HOME})
    return {
        **parameters,
        "allowed_la_code": sorted(la_codes),
        "allowed_region_code": sorted(set(region_codes)),
        "allowed_source_feed": sorted(feed.value for feed in FEEDS),
        "allowed_service_group": sorted(set(SERVICE_GROUP.values())),
    }


def _check_shape(document: Any, path: Path) -> None:
    if not isinstance(document, dict):
        raise SuiteError(f"{path}: a suite is a JSON object with 'name' and 'expectations'")
    unknown = sorted(set(document) - _SUITE_KEYS)
    if unknown:
        raise SuiteError(f"{path}: unknown top-level key(s) {', '.join(unknown)}")
    if not isinstance(document.get("name"), str) or not document["name"]:
        raise SuiteError(f"{path}: 'name' must be a non-empty string")
    expectations = document.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise SuiteError(f"{path}: 'expectations' must be a non-empty list")
    seen: set[str] = set()
    for number, expectation in enumerate(expectations):
        where = f"{path}: expectations[{number}]"
        if not isinstance(expectation, dict):
            raise SuiteError(f"{where} is not an object")
        if not isinstance(expectation.get("type"), str) or not isinstance(expectation.get("kwargs"), dict):
            raise SuiteError(f"{where} needs 'type' (a string) and 'kwargs' (an object)")
        meta = expectation.get("meta")
        if not isinstance(meta, dict):
            raise SuiteError(f"{where} ({expectation['type']}) has no 'meta' with rule, severity, description")
        rule = meta.get("rule")
        if not isinstance(rule, str) or not RULE_ID.match(rule):
            raise SuiteError(f"{where}: meta.rule {rule!r} must be a dotted id like 'count.beds_vacant.min'")
        if rule in seen:
            raise SuiteError(f"{where}: meta.rule {rule!r} is used twice; rule ids must be unique")
        seen.add(rule)
        if meta.get("severity") not in SEVERITIES:
            raise SuiteError(
                f"{where} (rule {rule!r}): meta.severity must be one of {', '.join(SEVERITIES)}, "
                f"not {meta.get('severity')!r}"
            )
        if not isinstance(meta.get("description"), str) or not meta["description"].strip():
            raise SuiteError(f"{where} (rule {rule!r}): meta.description must say what the rule checks")
    derived = document.get("meta", {}).get("derived_columns", {})
    if not isinstance(derived, dict) or not all(
        isinstance(spec, dict)
        and isinstance(spec.get("sum_of"), list)
        and spec["sum_of"]
        and all(isinstance(c, str) for c in spec["sum_of"])
        for spec in derived.values()
    ):
        raise SuiteError(f'{path}: meta.derived_columns maps a name to {{"sum_of": [column, ...]}}')
    for name in TOLERANCES:
        value = document.get("meta", {}).get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1):
            raise SuiteError(f"{path}: meta.{name} must be a fraction between 0 and 1, not {value!r}")


def _check_with_gx(document: dict[str, Any], path: Path) -> None:
    from great_expectations.exceptions import ExpectationNotFoundError

    for number, expectation in enumerate(document["expectations"]):
        where = f"{path}: expectations[{number}] (rule {expectation['meta']['rule']!r})"
        try:
            _gx_expectation(copy.deepcopy(expectation))
        except ExpectationNotFoundError:
            raise SuiteError(f"{where}: unknown expectation type {expectation['type']!r}") from None
        except Exception as error:  # GX raises pydantic and its own errors for bad kwargs
            problem = "; ".join(str(getattr(error, "message", None) or error).splitlines())
            raise SuiteError(f"{where}: {expectation['type']} kwargs are not valid: {problem}") from None


def _gx_expectation(expectation: dict[str, Any]) -> Any:
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    configuration = ExpectationConfiguration(**{**expectation, "severity": expectation["meta"]["severity"]})
    return configuration.to_domain_obj()


def _parameter_refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        if set(value) == {"$PARAMETER"}:
            return [value["$PARAMETER"]]
        return [name for item in value.values() for name in _parameter_refs(item)]
    if isinstance(value, list):
        return [name for item in value for name in _parameter_refs(item)]
    return []
