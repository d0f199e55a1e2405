"""Validate one conformed feed file against its GX suite, in one GX run.

The frame is indexed by `source_row` and GX is asked for the failing index values only
(`exclude_unexpected_values`): GX then collects them without a per-row Python loop, which keeps a
national-scale day with many failures under a second. The offending values are read back from
the frame. Great Expectations is imported only inside functions (it takes seconds to import).
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from careshare.conform.parse import SOURCE_ROW
from careshare.feeds import FeedSpec
from careshare.quality.gx_result import ROW_LABEL, RowFailure, RuleFailure, Statistics, ValidationReport, build_report
from careshare.quality.suites import Suite, SuiteError, load_suite, suite_parameters_for

__all__ = [
    "RowFailure",
    "RuleFailure",
    "Statistics",
    "SuiteError",
    "ValidationReport",
    "load_suite",
    "suite_parameters_for",
    "validate_feed",
    "validate_frame",
]


def result_format() -> dict[str, Any]:
    return {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": [ROW_LABEL],
        "exclude_unexpected_values": True,
        "return_unexpected_index_query": False,
    }


def validate_frame(
    frame: pd.DataFrame, suite_path: Path, parameters: dict[str, Any], *, row_key: str = SOURCE_ROW
) -> ValidationReport:
    """`row_key` names each row in the report: the file's source_row, or a dataset's key column."""
    suite = load_suite(suite_path)
    parameters = suite.with_derived_parameters(parameters)
    missing = sorted(suite.parameter_names() - set(parameters))
    if missing:
        raise SuiteError(f"{suite_path}: no value given for suite parameter(s) {', '.join(missing)}")
    prepared = prepare_frame(frame, suite, row_key)
    batch = _batch_definition(suite.name).get_batch(batch_parameters={"dataframe": prepared})
    result = batch.validate(suite.gx_suite(), result_format=result_format(), expectation_parameters=parameters)
    return build_report(suite, result.to_json_dict(), prepared, row_key)


def prepare_frame(frame: pd.DataFrame, suite: Suite, row_key: str = SOURCE_ROW) -> pd.DataFrame:
    """Adds the suite's derived columns and a `row_label` naming each row, also its index.

    The label is the row's `row_key`; a dataset key seen more than once (which its uniqueness rule
    reports) is labelled `<key>#2`, `#3`... A file's source_row must be unique.
    """
    keys = frame[row_key]
    if not keys.is_unique:
        if row_key == SOURCE_ROW:
            raise ValueError(f"{SOURCE_ROW} must identify each row of the frame")
        text = keys.astype(str)
        seen = text.groupby(text).cumcount()
        keys = text.where(seen == 0, text + "#" + (seen + 1).astype(str))
    prepared = frame.copy()
    for name, columns in suite.derived_columns.items():
        present = [c for c in columns if c in prepared]
        if present:
            prepared[name] = prepared[present].sum(axis=1, min_count=1)
    prepared[ROW_LABEL] = keys.to_numpy()
    return prepared.set_index(pd.Index(prepared[ROW_LABEL], name=ROW_LABEL))


@functools.cache
def _data_source() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        ),
    )
    return context.data_sources.add_pandas("careshare")


@functools.cache
def _batch_definition(asset: str) -> Any:
    """The whole frame as a batch of the data asset named after the suite: the feed or dataset."""
    return _data_source().add_dataframe_asset(asset).add_batch_definition_whole_dataframe("whole_frame")


def validate_feed(frame: pd.DataFrame, spec: FeedSpec, report_date: date, expectations_dir: Path) -> ValidationReport:
    """The feed's suite (`{expectations_dir}/{feed}.json`) with the parameters for the report date."""
    suite_path = expectations_dir / f"{spec.feed.value}.json"
    return validate_frame(frame, suite_path, suite_parameters_for(spec, report_date))
