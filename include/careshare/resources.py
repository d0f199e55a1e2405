"""The platform's handles (warehouse, stores, reference), built once from Settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from careshare.config import Settings
from careshare.councils import LocalAuthorities, load_local_authorities
from careshare.storage import ObjectStore, open_store
from careshare.warehouse import Warehouse


@dataclass
class Platform:
    settings: Settings
    warehouse: Warehouse
    raw_archive: ObjectStore
    publication: ObjectStore
    quality: ObjectStore
    landing: ObjectStore | None = None  # the landing folder or bucket of feed files, when the deployment has one

    @classmethod
    def from_settings(cls, settings: Settings, s3_client: Any = None) -> Platform:
        return cls(
            settings=settings,
            warehouse=Warehouse(settings.warehouse_url),
            raw_archive=open_store(settings.raw_archive_uri, s3_client),
            publication=open_store(settings.publish_uri, s3_client),
            quality=open_store(settings.quality_uri, s3_client),
            landing=open_store(settings.landing_uri, s3_client) if settings.landing_uri else None,
        )

    @cached_property
    def local_authorities(self) -> LocalAuthorities:
        return load_local_authorities(self.settings.reference_csv)
