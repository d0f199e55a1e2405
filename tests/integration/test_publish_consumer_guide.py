"""The README's consumer guide runs as written, against published releases on a local S3 endpoint
(only the bucket name and the endpoint are substituted)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from careshare.config import REPO_ROOT
from careshare.datasets import LOCATION_DAILY
from careshare.publish.docs import schema_reference
from careshare.publish.release import publish_release
from careshare.storage import open_store
from tests.unit.publish.synthetic import synthetic_table

pytestmark = pytest.mark.slow

FIRST, CORRECTED, WITHDRAWN = date(2020, 11, 30), date(2020, 12, 1), date(2020, 12, 2)


def guide_snippets() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    guide = readme[readme.index("## Reading the published data") : readme.index("## Access")]
    return re.findall(r"```python\n(.*?)```", guide, flags=re.DOTALL)


def test_the_consumer_guide_snippets_run(s3_endpoint, s3_client, buckets, local_authorities, monkeypatch, tmp_path):
    store = open_store(f"s3://{buckets['published']}", s3_client)

    def release(day: date, councils: dict[str, int], edition: int = 0) -> None:
        table = synthetic_table(LOCATION_DAILY, day, councils, edition=edition)
        publish_release(store, LOCATION_DAILY, day, table, local_authorities, schema=schema_reference(LOCATION_DAILY))

    release(FIRST, {"E08000035": 3})
    release(CORRECTED, {"E08000035": 4, "E06000001": 2})
    release(CORRECTED, {"E08000035": 4, "E06000001": 2}, edition=1)
    release(WITHDRAWN, {"E08000035": 2, "E06000001": 1})
    release(WITHDRAWN, {"E06000001": 1})

    snippets = guide_snippets()
    assert len(snippets) == 3
    code = "\n".join(snippets)
    local = {
        '"careshare-published", "E08000035"': f'"{buckets["published"]}", "E08000035"',
        'pyarrow.fs.S3FileSystem(region="eu-west-2")': (
            f'pyarrow.fs.S3FileSystem(region="eu-west-2", endpoint_override="{s3_endpoint.removeprefix("http://")}",'
            ' scheme="http")'
        ),
    }
    for written, substitute in local.items():
        assert written in code
        code = code.replace(written, substitute)

    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)

    assert namespace["table"].num_rows == 3 + 4, "the withdrawn day has no current file"
    assert sorted(set(namespace["table"].column("report_date").to_pylist())) == [FIRST, CORRECTED]
    assert len(namespace["frame"]) == 7
    assert namespace["manifest"]["version"] == 1 and len(namespace["as_first_published"]) == 2
    assert len(list((tmp_path / "careshare" / "location_daily").glob("*/*/*.parquet"))) == 2
