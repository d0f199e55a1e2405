"""The Delta Sharing REST server (delta-io/delta-sharing PROTOCOL.md) over the publication store.

One share, `careshare`, one schema, `published`, and a table per dataset the recipient may read
(careshare.share.tables): `location_daily` and `la_daily_summary` for everyone, the national
datasets for national recipients only. Every answer is read from the release manifests; data are
never copied: a file is a pre-signed GET of one release file, valid for `url_lifetime` (at most an
hour), and a council recipient is only ever given its own councils' files. The change data feed
(`/changes`) answers each release's change data files, written when it was published, as `cdf`
actions, a date's first release as `add`s, and a release published before change data files
existed file by file (careshare.share.tables).

The bearer token is resolved by `recipient_of` (careshare.share.tokens); anything unknown gets
401 with the same body whatever exists. A table the recipient may not read is answered exactly as
one that does not exist (404). Every answered request is logged on `careshare.share.access`
(recipient, route, table, version, number of files, status), never with the token.

Responses are in the protocol's parquet format (`minReaderVersion` 1), as `delta-sharing-
capabilities` says in every table answer; a client that will take the delta format only (the
Python client's `use_delta_format=True`) gets 400 saying so. A timestamp without an offset is UTC.
Lists page with `maxResults` / `pageToken`, and a query's files with `maxFiles` / `pageToken` (the
next page's token in a last `endStreamAction` line), every page of the version the first one gave.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import fastapi
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from careshare.access.recipients import Recipient
from careshare.datasets import Dataset
from careshare.resources import Platform
from careshare.share import responses
from careshare.share.predicates import file_filter
from careshare.share.tables import FileAt, History, ManifestCache, readable, readable_changes, shared_datasets
from careshare.storage import S3Store

PREFIX = "/delta-sharing"
SHARE, SCHEMA = "careshare", "published"
MAX_URL_LIFETIME = timedelta(hours=1)
MAX_BODY_BYTES = 64 * 1024  # a query body is a few hints; anything larger is refused unread
MAX_PAGE = 1000
JSON = "application/json; charset=utf-8"
TABLE_ROUTE = PREFIX + "/shares/{share}/schemas/{schema}/tables/{table}"

access_log = logging.getLogger("careshare.share.access")
log = logging.getLogger(__name__)


class ProtocolError(Exception):
    """An answer in the protocol's error shape: `{"errorCode": ..., "message": ...}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def bad(message: str) -> ProtocolError:
    return ProtocolError(400, "INVALID_PARAMETER_VALUE", message)


def not_found(what: str) -> ProtocolError:
    return ProtocolError(404, "RESOURCE_DOES_NOT_EXIST", f"{what} does not exist")


def unauthenticated() -> ProtocolError:
    """The same answer whatever the token was and whatever exists."""
    return ProtocolError(401, "UNAUTHENTICATED", "the bearer token is missing, not valid or expired")


@dataclass
class Access:
    """What the access log says of one request."""

    recipient: str = "-"
    table: str = "-"
    version: int | str | None = None  # a change feed's is its range, `2..4`
    files: int | None = None


def create_app(
    platform: Platform,
    recipients: Sequence[Recipient],
    recipient_of: Callable[[str], str | None],
    *,
    url_lifetime: timedelta = timedelta(minutes=15),
) -> fastapi.FastAPI:
    if not timedelta(seconds=1) <= url_lifetime <= MAX_URL_LIFETIME:
        raise ValueError(f"pre-signed URLs last between 1 second and {MAX_URL_LIFETIME}, not {url_lifetime}")
    store = platform.publication
    if not isinstance(store, S3Store):
        raise TypeError(f"Delta Sharing pre-signs S3 objects: the publication store is {store.uri()}")
    known = {r.id: r for r in recipients}
    cache = ManifestCache()
    app = fastapi.FastAPI(title="careshare Delta Sharing", docs_url=None, redoc_url=None, openapi_url=None)

    def recipient(request: Request) -> Recipient:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        found = recipient_of(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if found is None or found not in known:
            raise unauthenticated()
        _access(request).recipient = found
        return known[found]

    def open_table(request: Request, share: str, schema: str, name: str) -> tuple[Recipient, History]:
        reader = recipient(request)
        _check_format(request)
        shared = {d.name: d for d in shared_datasets(reader)}
        if share.lower() != SHARE or schema.lower() != SCHEMA or name.lower() not in shared:
            _access(request).table = "(not shared)"  # never the raw path: it is the caller's text
            raise not_found(f"table {share}.{schema}.{name}")
        _access(request).table = name.lower()
        history = History(store, shared[name.lower()], cache).refresh()
        _access(request).version = history.latest
        return reader, history

    def presigner() -> tuple[responses.Presign, datetime]:
        seconds = int(url_lifetime.total_seconds())
        expires = datetime.now(UTC) + url_lifetime

        def presign(key: str) -> str:
            params = {"Bucket": store.bucket, "Key": store.full_key(key)}
            return store.client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)

        return presign, expires

    @app.middleware("http")
    async def access_logged(request: Request, call_next: Callable[[Request], Any]) -> Response:
        request.state.access = Access()
        started = time.monotonic()
        try:
            response = await call_next(request)
        except Exception:
            log.exception("unexpected error answering %s %s", request.method, _route(request))
            response = _error(ProtocolError(500, "INTERNAL_ERROR", "the server could not answer this request"))
        access = request.state.access
        access_log.info(
            "recipient=%s route=%s %s table=%s version=%s files=%s status=%d ms=%d",
            access.recipient,
            request.method,
            _route(request),
            access.table,
            "-" if access.version is None else access.version,
            "-" if access.files is None else access.files,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    @app.exception_handler(ProtocolError)
    async def protocol_error(request: Request, error: ProtocolError) -> Response:
        return _error(error)

    @app.exception_handler(404)
    async def no_route(request: Request, error: Exception) -> Response:
        return _error(not_found("resource"))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        return _error(ProtocolError(400, "MALFORMED_REQUEST", "the request is malformed"))

    @app.exception_handler(405)
    async def wrong_method(request: Request, error: Exception) -> Response:
        return _error(ProtocolError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here"))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(PREFIX + "/shares")
    def list_shares(request: Request) -> Response:
        recipient(request)
        return _page(request, [_share()])

    @app.get(PREFIX + "/shares/{share}")
    def get_share(request: Request, share: str) -> Response:
        recipient(request)
        _check_share(share)
        return _json({"share": _share()})

    @app.get(PREFIX + "/shares/{share}/schemas")
    def list_schemas(request: Request, share: str) -> Response:
        recipient(request)
        _check_share(share)
        return _page(request, [{"name": SCHEMA, "share": SHARE}])

    @app.get(PREFIX + "/shares/{share}/schemas/{schema}/tables")
    def list_tables(request: Request, share: str, schema: str) -> Response:
        reader = recipient(request)
        _check_share(share)
        if schema.lower() != SCHEMA:
            raise not_found(f"schema {share}.{schema}")
        return _page(request, [_table(d) for d in shared_datasets(reader)])

    @app.get(PREFIX + "/shares/{share}/all-tables")
    def list_all_tables(request: Request, share: str) -> Response:
        reader = recipient(request)
        _check_share(share)
        return _page(request, [_table(d) for d in shared_datasets(reader)])

    @app.head(TABLE_ROUTE)
    def table_version_head(request: Request, share: str, schema: str, table: str) -> Response:
        _, history = open_table(request, share, schema, table)
        return Response(headers={responses.VERSION_HEADER: str(history.latest)})

    @app.get(TABLE_ROUTE + "/version")
    def table_version(request: Request, share: str, schema: str, table: str) -> Response:
        _, history = open_table(request, share, schema, table)
        version = history.latest
        if (text := request.query_params.get("startingTimestamp")) is not None:
            found = history.version_from(_timestamp(text, "startingTimestamp"))
            if found is None:
                raise bad(f"no version was committed at or after startingTimestamp {text}")
            version = found
        _access(request).version = version
        return Response(headers={responses.VERSION_HEADER: str(version)})

    @app.get(TABLE_ROUTE + "/metadata")
    def table_metadata(request: Request, share: str, schema: str, table: str) -> Response:
        _, history = open_table(request, share, schema, table)
        lines = [responses.protocol_line(), responses.metadata_line(history.dataset)]
        return _ndjson(lines, history.latest)

    @app.post(TABLE_ROUTE + "/query")
    async def query_table(request: Request, share: str, schema: str, table: str) -> Response:
        body = await _body(request)
        return await run_in_threadpool(answer_query, request, share, schema, table, body)

    def answer_query(request: Request, share: str, schema: str, name: str, body: dict[str, Any]) -> Response:
        reader, history = open_table(request, share, schema, name)
        travelled = "version" in body or "timestamp" in body
        version = _query_version(history, body)
        dataset = history.dataset
        keep = file_filter(_json_hints(body), _sql_hints(body), dataset.partition_columns)
        files = [at for at in readable(history.snapshot(version), reader) if keep(responses.partition_values(at.file))]
        files = _limited(files, body.get("limitHint"))
        files, next_page = _file_page(files, body, version)
        presign, expires = presigner()
        lines = [
            responses.protocol_line(),
            responses.metadata_line(dataset, version=version if travelled else None),
            *(responses.file_line(at, presign, expires) for at in files),
        ]
        if next_page is not None:
            lines.append({"endStreamAction": {"nextPageToken": next_page}})
        _access(request).version, _access(request).files = version, len(files)
        return _ndjson(lines, version)

    @app.get(TABLE_ROUTE + "/changes")
    def table_changes(request: Request, share: str, schema: str, table: str) -> Response:
        reader, history = open_table(request, share, schema, table)
        starting, ending = _change_range(history, request.query_params)
        changes = readable_changes(history.changes(starting, ending), reader)
        presign, expires = presigner()
        lines = [
            responses.protocol_line(),
            responses.metadata_line(history.dataset),
            *(responses.change_line(change, presign, expires) for change in changes),
        ]
        _access(request).version, _access(request).files = f"{starting}..{ending}", len(changes)
        return _ndjson(lines, starting)

    return app


def _access(request: Request) -> Access:
    access: Access = request.state.access
    return access


def _route(request: Request) -> str:
    """The route's template, `/delta-sharing/shares/{share}/...`: never the caller's own text."""
    return str(getattr(request.scope.get("route"), "path", "(no route)"))


def _error(error: ProtocolError) -> Response:
    return JSONResponse({"errorCode": error.code, "message": error.message}, status_code=error.status)


def _json(document: dict[str, Any]) -> Response:
    return Response(json.dumps(document, separators=(",", ":")), media_type=JSON)


def _ndjson(lines: list[dict[str, Any]], version: int) -> Response:
    headers = {responses.VERSION_HEADER: str(version), responses.CAPABILITIES_HEADER: responses.RESPONSE_FORMAT}
    return Response(responses.ndjson(lines), headers=headers, media_type=responses.NDJSON)


def _share() -> dict[str, str]:
    return {"name": SHARE, "id": responses.stable_id("share", SHARE)}


def _table(dataset: Dataset) -> dict[str, str]:
    return {
        "name": dataset.name,
        "schema": SCHEMA,
        "share": SHARE,
        "shareId": responses.stable_id("share", SHARE),
        "id": responses.stable_id("table", dataset.name),
    }


def _check_format(request: Request) -> None:
    """A client that will read the delta format only is told so, rather than sent lines it cannot use."""
    asked = dict(
        part.strip().lower().partition("=")[::2]
        for part in request.headers.get(responses.CAPABILITIES_HEADER, "").split(";")
        if "=" in part
    )
    formats = {f.strip() for f in asked.get("responseformat", "parquet").split(",")}
    if "parquet" not in formats:
        raise bad("this server answers in the parquet response format only (responseformat=parquet)")


def _check_share(share: str) -> None:
    if share.lower() != SHARE:
        raise not_found(f"share {share}")


# --- pagination ---------------------------------------------------------------------------------------


def _page(request: Request, items: list[dict[str, str]]) -> Response:
    """`maxResults` items from `pageToken` on, and the token of the next page while there is one."""
    limit = _integer(request.query_params.get("maxResults"), "maxResults", minimum=0)
    size = MAX_PAGE if limit is None else min(limit, MAX_PAGE)
    start = _page_start(request.query_params.get("pageToken"), "list")
    page: dict[str, Any] = {"items": items[start : start + size]}
    if start + size < len(items):
        page["nextPageToken"] = _page_token("list", start + size)
    return _json(page)


def _page_token(kind: str, offset: int, version: int | None = None) -> str:
    text = json.dumps({"kind": kind, "offset": offset, "version": version}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _read_token(token: str, kind: str) -> dict[str, Any]:
    try:
        found = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad("pageToken is not a token this server gave") from None
    if not isinstance(found, dict) or found.get("kind") != kind or not isinstance(found.get("offset"), int):
        raise bad("pageToken is not a token this server gave")
    if found["offset"] < 0:
        raise bad("pageToken is not a token this server gave")
    return found


def _page_start(token: str | None, kind: str) -> int:
    return 0 if not token else int(_read_token(token, kind)["offset"])


def _file_page(files: list[FileAt], body: dict[str, Any], version: int) -> tuple[list[FileAt], str | None]:
    """The query's `maxFiles` / `pageToken`: a page of files, all of one version."""
    limit = _integer(body.get("maxFiles"), "maxFiles", minimum=1)
    token = body.get("pageToken")
    if token is not None and not isinstance(token, str):
        raise bad("pageToken must be a string")
    start = 0
    if token:
        found = _read_token(token, "query")
        if found.get("version") != version:
            raise bad("pageToken belongs to another version of the table: ask for the version it names")
        start = found["offset"]
    if limit is None:
        return files[start:], None
    page = files[start : start + limit]
    more = start + limit < len(files)
    return page, _page_token("query", start + limit, version) if more else None


# --- request values -----------------------------------------------------------------------------------


async def _body(request: Request) -> dict[str, Any]:
    """The query's JSON body, read no further than MAX_BODY_BYTES."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ProtocolError(400, "MALFORMED_REQUEST", f"the request body is larger than {MAX_BODY_BYTES} bytes")
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_BODY_BYTES:
            raise ProtocolError(400, "MALFORMED_REQUEST", f"the request body is larger than {MAX_BODY_BYTES} bytes")
    if not received.strip():
        return {}
    try:
        body = json.loads(received)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError(400, "MALFORMED_REQUEST", "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise ProtocolError(400, "MALFORMED_REQUEST", "the request body must be a JSON object")
    return body


def _integer(value: object, name: str, *, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise bad(f"{name} must be an integer of at least {minimum}")
    return value


def _timestamp(text: object, name: str) -> datetime:
    if not isinstance(text, str):
        raise bad(f"{name} must be a timestamp")
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise bad(f"{name} {text!r} is not a timestamp (yyyy-mm-dd hh:mm:ss, or ISO 8601 with an offset)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _existing(history: History, version: int, name: str) -> int:
    if not 1 <= version <= history.latest:
        versions = f"1..{history.latest}" if history.latest else "none yet"
        raise bad(f"{name} {version} does not exist: the table's versions are {versions}")
    return version


def _query_version(history: History, body: dict[str, Any]) -> int:
    if "startingVersion" in body or "endingVersion" in body:
        raise bad("this server answers changes at /changes, not in a query")
    if "version" in body and "timestamp" in body:
        raise bad("give version or timestamp, not both")
    if "version" in body:
        version = _integer(body["version"], "version", minimum=0)
        return _existing(history, version or 0, "version")
    if "timestamp" in body:
        found = history.version_at(_timestamp(body["timestamp"], "timestamp"))
        if found is None:
            raise bad(f"nothing was published by timestamp {body['timestamp']}")
        return found
    return history.latest


def _change_range(history: History, params: Any) -> tuple[int, int]:
    """The inclusive versions of a `/changes` request."""
    if ("startingVersion" in params) == ("startingTimestamp" in params):
        raise bad("give startingVersion or startingTimestamp (one of them)")
    if "endingVersion" in params and "endingTimestamp" in params:
        raise bad("give endingVersion or endingTimestamp, not both")
    if "startingVersion" in params:
        starting = _existing(
            history, _integer(params["startingVersion"], "startingVersion", minimum=0) or 0, "startingVersion"
        )
    else:
        found = history.version_from(_timestamp(params["startingTimestamp"], "startingTimestamp"))
        if found is None:
            raise bad("no version was committed at or after startingTimestamp")
        starting = found
    ending = history.latest
    if "endingVersion" in params:
        ending = _existing(history, _integer(params["endingVersion"], "endingVersion", minimum=0) or 0, "endingVersion")
    elif "endingTimestamp" in params:
        ending = history.version_at(_timestamp(params["endingTimestamp"], "endingTimestamp")) or 0
    if ending < starting:
        raise bad(f"the changes end (version {ending}) before they start (version {starting})")
    return starting, ending


def _json_hints(body: dict[str, Any]) -> str | None:
    """A malformed hint is ignored, as the protocol says: hints only ever narrow the answer."""
    hints = body.get("jsonPredicateHints")
    if isinstance(hints, dict):
        return json.dumps(hints)
    return hints if isinstance(hints, str) else None


def _sql_hints(body: dict[str, Any]) -> list[str]:
    hints = body.get("predicateHints")
    return [h for h in hints if isinstance(h, str)] if isinstance(hints, list) else []


def _limited(files: list[FileAt], limit_hint: object) -> list[FileAt]:
    """Enough files for `limitHint` rows (by each file's row count), in the answer's order."""
    limit = _integer(limit_hint, "limitHint", minimum=0)
    if limit is None:
        return files
    chosen, rows = [], 0
    for at in files:
        if rows >= limit:
            break
        chosen.append(at)
        rows += at.file.rows
    return chosen
