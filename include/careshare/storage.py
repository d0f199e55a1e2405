"""Object stores behind one small interface: an S3 prefix, or a local folder for the embedded default."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

CONTENT_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".css": "text/css",
    ".js": "application/javascript",
}


# S3 answers a failed condition with 412; a concurrent conditional write with 409; If-Match on a
# missing object with 404.
CONDITION_FAILED = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409", "NoSuchKey", "404"}


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> bool:
        """Write `data` at `key`; with `if_absent`, return False instead of replacing an object;
        with `if_match` (a tag from `get_tagged`), return False if the object changed since."""

    def upload(self, key: str, data: bytes, sha256: str) -> str | None:
        """Write `data` at `key` with its SHA-256 (hex), which the store checks as the bytes arrive;
        return the MD5 (hex) the store reports of what `key` now holds, or None if it refused the
        bytes for not matching the SHA-256."""

    def get(self, key: str) -> bytes: ...

    def get_tagged(self, key: str) -> tuple[bytes, str] | None:
        """The object and its entity tag (for a later conditional `put`), or None if absent."""

    def copy(self, source: str, target: str) -> str:
        """Copy `source` to `target`; return the SHA-256 (hex) the store computed over what `target` now holds."""

    def exists(self, key: str) -> bool: ...

    def keys(self, prefix: str = "") -> list[str]: ...

    def delete(self, keys: list[str]) -> None: ...

    def uri(self, key: str = "") -> str: ...


def content_type(key: str) -> str:
    return CONTENT_TYPES.get(Path(key).suffix, "application/octet-stream")


@dataclass
class S3Store:
    client: Any  # a boto3 S3 client (from the Airflow AWS connection, or boto3 defaults)
    bucket: str
    prefix: str = ""
    encrypt: bool = True

    def full_key(self, key: str) -> str:
        return f"{self.prefix.strip('/')}/{key}" if self.prefix.strip("/") else key

    def _written(self, key: str) -> dict[str, str]:
        extra = {"ContentType": content_type(key)}
        if self.encrypt:
            extra["ServerSideEncryption"] = "AES256"
        return extra

    def put(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> bool:
        extra = self._written(key)
        if if_absent:
            extra["IfNoneMatch"] = "*"
        if if_match is not None:
            extra["IfMatch"] = if_match
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.full_key(key), Body=data, **extra)
        except self.client.exceptions.ClientError as error:
            conditional = if_absent or if_match is not None
            if conditional and error.response["Error"]["Code"] in CONDITION_FAILED:
                return False
            raise
        return True

    def upload(self, key: str, data: bytes, sha256: str) -> str | None:
        try:
            response = self.client.put_object(
                Bucket=self.bucket,
                Key=self.full_key(key),
                Body=data,
                ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(),
                **self._written(key),
            )
        except self.client.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in {"BadDigest", "InvalidDigest"}:
                return None
            raise
        # the entity tag of a single-part upload, unencrypted or SSE-S3 (never SSE-KMS here), is its MD5
        return response["ETag"].strip('"')

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))["Body"].read()

    def get_tagged(self, key: str) -> tuple[bytes, str] | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))
        except self.client.exceptions.NoSuchKey:
            return None
        return response["Body"].read(), response["ETag"]

    def copy(self, source: str, target: str) -> str:
        response = self.client.copy_object(
            Bucket=self.bucket,
            Key=self.full_key(target),
            CopySource={"Bucket": self.bucket, "Key": self.full_key(source)},
            MetadataDirective="REPLACE",
            ChecksumAlgorithm="SHA256",  # S3 computes it over the copy it stored
            **self._written(target),
        )
        return base64.b64decode(response["CopyObjectResult"]["ChecksumSHA256"]).hex()

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
        except self.client.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def keys(self, prefix: str = "") -> list[str]:
        strip = len(self.full_key(""))
        found: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.full_key(prefix)):
            found.extend(item["Key"][strip:] for item in page.get("Contents", []))
        return sorted(found)

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": self.full_key(k)} for k in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def uri(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self.full_key(key)}"


@dataclass
class LocalStore:
    root: Path

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"key {key!r} escapes the store root")
        return path

    def put(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> bool:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(data)
        try:
            if if_absent:
                try:
                    os.link(handle.name, path)
                except FileExistsError:
                    return False
            elif if_match is not None:
                with _locked(path):
                    if not path.is_file() or _tag(path.read_bytes()) != if_match:
                        return False
                    os.replace(handle.name, path)
            else:
                os.replace(handle.name, path)
        finally:
            Path(handle.name).unlink(missing_ok=True)
        return True

    def upload(self, key: str, data: bytes, sha256: str) -> str | None:
        self.put(key, data)
        return hashlib.md5(self.get(key), usedforsecurity=False).hexdigest()

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def get_tagged(self, key: str) -> tuple[bytes, str] | None:
        path = self._path(key)
        if not path.is_file():
            return None
        data = path.read_bytes()
        return data, _tag(data)

    def copy(self, source: str, target: str) -> str:
        self.put(target, self.get(source))
        return _tag(self.get(target))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self, prefix: str = "") -> list[str]:
        if not self.root.exists():
            return []
        found = (
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and not (p.name.startswith(".") and p.name.endswith(".lock"))
        )
        return sorted(k for k in found if k.startswith(prefix))

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def uri(self, key: str = "") -> str:
        return (self.root / key).as_uri() if key else self.root.resolve().as_uri()


def _tag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise conditional replaces of one file across threads and processes."""
    with open(path.with_name(f".{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def open_store(uri: str, s3_client: Any = None, *, encrypt: bool = True) -> ObjectStore:
    """`s3://bucket/prefix` (needs a boto3 client) or a local path / `file://` URI."""
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        return S3Store(s3_client, parsed.netloc, parsed.path.strip("/"), encrypt=encrypt)
    if parsed.scheme in {"", "file"}:
        return LocalStore(Path(parsed.path if parsed.scheme == "file" else uri))
    raise ValueError(f"unsupported store URI {uri!r}: use s3://bucket/prefix or a local folder")
