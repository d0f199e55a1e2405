"""One object that names every location the platform reads or writes.

Values come from the environment so the same code runs embedded, in docker-compose and on
AWS; secrets (API keys, S3 credentials) never live here: they come from Airflow connections
or the standard AWS environment (and, for the command line only, the variables that stand in
for the connections: see ENVIRONMENT_VARIABLES and cli/environment.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

# Package data, found beside the modules so that an installed wheel runs anywhere (data/README.md).
PACKAGE_DIR = Path(str(files("careshare")))
SQL_DIR = PACKAGE_DIR / "sql"
EXPECTATIONS_DIR = PACKAGE_DIR / "expectations"
REFERENCE_CSV = PACKAGE_DIR / "data" / "local_authorities.csv"
CROSSWALK_CSV = PACKAGE_DIR / "data" / "crosswalk.csv"
RECIPIENTS_TOML = PACKAGE_DIR / "data" / "recipients.toml"
DEFAULT_PUBLISH_SWEEP = "*/15 * * * *"

ENVIRONMENT_VARIABLES = {
    "CARESHARE_HOME": "working folder for the embedded default (SQLite warehouse, Data Docs build)",
    "CARESHARE_WAREHOUSE_URL": "SQLAlchemy URL of the warehouse",
    "CARESHARE_RAW_ARCHIVE_URI": "raw archive: s3://bucket/prefix or a local folder",
    "CARESHARE_PUBLISH_URI": "publication root: s3://bucket/prefix",
    "CARESHARE_QUALITY_URI": "quality reports and Data Docs root: s3://bucket/prefix",
    "CARESHARE_QUALITY_BASE_URL": "HTTPS address serving the quality root, for links (optional)",
    "CARESHARE_REFERENCE_CSV": "ONS councils by date (default: the packaged data/local_authorities.csv)",
    "CARESHARE_EXPECTATIONS_DIR": "folder of the GX suites as JSON (default: the packaged expectations/)",
    "CARESHARE_CROSSWALK_CSV": "manual matching overrides (default: the packaged data/crosswalk.csv)",
    "CARESHARE_LANDING_URI": "optional landing folder or bucket of feed files, {feed}/{YYYY-MM-DD}.csv",
    "CARESHARE_FRESHNESS_DEADLINE": "HH:MM UK time on the day after a report date: its files are due (12:00)",
    "CARESHARE_FRESHNESS_LOOKBACK_DAYS": "how many past report dates the freshness check looks at (3)",
    "CARESHARE_RECHECK_DAYS": "past report dates each feed run looks at again for corrections (7)",
    "CARESHARE_DEEP_RECHECK_DAYS": "the same on the runs for Sundays, for older corrections (42)",
    "CARESHARE_LATE_FILE_DAYS": "days back a late file is still taken for a date settled without one (unset: all)",
    "CARESHARE_PUBLISH_SWEEP": "cron (UK time) of the publish DAG's sweep for owed report dates (*/15 * * * *)",
    # The command line only (`careshare run`, `careshare registry`): the DAGs take these from connections.
    "CARESHARE_S3_ENDPOINT_URL": "S3 endpoint of a local or MinIO store (unset: AWS); credentials from AWS_*",
    "CARESHARE_FEEDS_URL": "export API base URL (the DAGs: connection careshare_feeds host)",
    "CARESHARE_FEEDS_KEY": "export API key (the DAGs: connection careshare_feeds password)",
    "CARESHARE_DIRECTORY_URL": "CQC directory API base URL (the DAGs: connection careshare_cqc_directory host)",
    "CARESHARE_DIRECTORY_KEY": "CQC directory subscription key (the DAGs: connection careshare_cqc_directory password)",
    "CARESHARE_ALLOW_INSECURE_HTTP": "1: keys may go over http to a non-loopback host (DAGs: connection extra)",
}


@dataclass(frozen=True)
class RecheckPolicy:
    """Which past report dates a feed run looks at again. Dates with a file received within
    `days` (within `deep_days` on the runs for Sundays) may have been corrected since; dates
    settled without usable data (absent, expired, failed) within `late_days` (None: the feed's
    whole collection) may have got their file late. Conditional requests keep both cheap."""

    days: int = 7
    deep_days: int = 42
    late_days: int | None = None

    @classmethod
    def from_env(cls, env: dict[str, str]) -> RecheckPolicy:
        late = env.get("CARESHARE_LATE_FILE_DAYS", "")
        return cls(
            days=int(env.get("CARESHARE_RECHECK_DAYS", cls.days)),
            deep_days=int(env.get("CARESHARE_DEEP_RECHECK_DAYS", cls.deep_days)),
            late_days=int(late) if late else None,
        )


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_url: str
    raw_archive_uri: str
    publish_uri: str
    quality_uri: str
    reference_csv: Path = REFERENCE_CSV
    expectations_dir: Path = EXPECTATIONS_DIR
    quality_base_url: str = ""
    crosswalk_csv: Path = CROSSWALK_CSV
    landing_uri: str = ""  # a landing folder or bucket of feed files, beside or instead of the export API
    publish_sweep: str = DEFAULT_PUBLISH_SWEEP
    recheck: RecheckPolicy = RecheckPolicy()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = Path(env.get("CARESHARE_HOME", str(Path.home() / ".careshare")))
        return cls(
            home=home,
            warehouse_url=env.get("CARESHARE_WAREHOUSE_URL", f"sqlite:///{home / 'warehouse.db'}"),
            raw_archive_uri=env.get("CARESHARE_RAW_ARCHIVE_URI", "s3://careshare-raw"),
            publish_uri=env.get("CARESHARE_PUBLISH_URI", "s3://careshare-published"),
            quality_uri=env.get("CARESHARE_QUALITY_URI", "s3://careshare-quality"),
            reference_csv=Path(env.get("CARESHARE_REFERENCE_CSV", str(REFERENCE_CSV))),
            expectations_dir=Path(env.get("CARESHARE_EXPECTATIONS_DIR", str(EXPECTATIONS_DIR))),
            quality_base_url=env.get("CARESHARE_QUALITY_BASE_URL", ""),
            crosswalk_csv=Path(env.get("CARESHARE_CROSSWALK_CSV") or CROSSWALK_CSV),
            landing_uri=env.get("CARESHARE_LANDING_URI", ""),
            publish_sweep=env.get("CARESHARE_PUBLISH_SWEEP") or DEFAULT_PUBLISH_SWEEP,
            recheck=RecheckPolicy.from_env(env),
        )
