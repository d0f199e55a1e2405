"""The platform and its sources from the environment alone, for the command line (no Airflow).

The DAGs take the S3 endpoint, the feed API and the CQC directory from Airflow connections; a
local run takes the same things from CARESHARE_S3_ENDPOINT_URL, CARESHARE_FEEDS_URL/_KEY,
CARESHARE_DIRECTORY_URL/_KEY and CARESHARE_LANDING_URI, with S3 credentials and region from the
standard AWS variables; CARESHARE_ALLOW_INSECURE_HTTP=1 lets the keys go over plain http to a host
that is not this machine. Everything else is Settings (config.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from careshare.config import Settings

if TYPE_CHECKING:
    from careshare.resources import Platform
    from careshare.sources.cqc_directory import DirectoryClient
    from careshare.sources.delivery import FeedEndpoint
    from careshare.storage import ObjectStore


class NotConfigured(RuntimeError):
    """A command needs a setting the environment does not give; the message names the variables."""


@dataclass(frozen=True)
class LocalEnvironment:
    settings: Settings
    s3_endpoint_url: str = ""
    feeds_url: str = ""
    feeds_key: str = ""
    directory_url: str = ""
    directory_key: str = ""
    allow_insecure_http: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LocalEnvironment:
        env = dict(os.environ if env is None else env)
        return cls(
            settings=Settings.from_env(env),
            s3_endpoint_url=env.get("CARESHARE_S3_ENDPOINT_URL", ""),
            feeds_url=env.get("CARESHARE_FEEDS_URL", ""),
            feeds_key=env.get("CARESHARE_FEEDS_KEY", ""),
            directory_url=env.get("CARESHARE_DIRECTORY_URL", ""),
            directory_key=env.get("CARESHARE_DIRECTORY_KEY", ""),
            allow_insecure_http=env.get("CARESHARE_ALLOW_INSECURE_HTTP") == "1",
        )

    def s3_client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.s3_endpoint_url or None)

    def _uses_s3(self) -> bool:
        s = self.settings
        uris = (s.raw_archive_uri, s.publish_uri, s.quality_uri, s.landing_uri)
        return any(uri.startswith("s3://") for uri in uris)

    def platform(self) -> Platform:
        from careshare.resources import Platform

        built = Platform.from_settings(self.settings, self.s3_client() if self._uses_s3() else None)
        built.warehouse.require_migrated()
        return built

    def feed_endpoint(self) -> FeedEndpoint | None:
        from careshare.sources.delivery import FeedEndpoint

        if not self.feeds_url:
            return None
        return FeedEndpoint(self.feeds_url, self.feeds_key, allow_insecure_http=self.allow_insecure_http)

    def feed_sources(self, platform: Platform) -> tuple[FeedEndpoint | None, ObjectStore | None]:
        """The export API from the environment and the platform's landing area: at least one."""
        endpoint, landing = self.feed_endpoint(), platform.landing
        if endpoint is None and landing is None:
            raise NotConfigured(
                "no feed source: set CARESHARE_FEEDS_URL and CARESHARE_FEEDS_KEY, or CARESHARE_LANDING_URI"
            )
        return endpoint, landing

    def directory_client(self) -> DirectoryClient:
        from careshare.sources.cqc_directory import DirectoryClient

        if not self.directory_url:
            raise NotConfigured("the CQC directory is needed: set CARESHARE_DIRECTORY_URL and CARESHARE_DIRECTORY_KEY")
        return DirectoryClient(self.directory_url, self.directory_key, allow_insecure_http=self.allow_insecure_http)
