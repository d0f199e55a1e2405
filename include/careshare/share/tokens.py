"""Bearer tokens for Delta Sharing recipients, and the profile file that carries one.

A token is 32 random bytes (`secrets.token_urlsafe`), written once to the recipient's profile file
and never stored: the warehouse keeps its SHA-256 only, so a copy of the warehouse lets nobody
read. A plain, unsalted hash is enough here (unlike for passwords): 256 random bits cannot be
guessed, and a deterministic hash is what lets a request's token be found by an index lookup.
Tokens expire (90 days unless asked otherwise, never more than a year), and a recipient's tokens
can be revoked at once, or rotated: a new token, every earlier one revoked in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from careshare.warehouse import Warehouse, sql

DEFAULT_LIFETIME = timedelta(days=90)
MAX_LIFETIME = timedelta(days=365)
TOKEN_BYTES = 32
MAX_BEARER_LENGTH = 512  # far longer than any token issued here; longer input is not looked up
PROFILE_VERSION = 1


@dataclass(frozen=True)
class IssuedToken:
    """A token as issued: the only time its value exists outside the recipient's profile."""

    token: str
    recipient_id: str
    expires_at: datetime  # UTC

    def __repr__(self) -> str:  # keeps the token out of logs and tracebacks
        return f"IssuedToken(recipient_id={self.recipient_id!r}, expires_at={self.expires_at.isoformat()})"


class ShareTokens:
    """The recipients' tokens in the warehouse (table share_token, migration 012)."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def issue(self, recipient_id: str, lifetime: timedelta, *, now: datetime | None = None) -> IssuedToken:
        """A new token for the recipient; its earlier tokens stay valid (see `rotate`)."""
        return self._issue(recipient_id, lifetime, now, revoke_earlier=False)

    def rotate(self, recipient_id: str, lifetime: timedelta, *, now: datetime | None = None) -> IssuedToken:
        """A new token; every earlier token of the recipient is revoked in the same transaction."""
        return self._issue(recipient_id, lifetime, now, revoke_earlier=True)

    def revoke(self, recipient_id: str, *, now: datetime | None = None) -> int:
        """Revoke every token of the recipient still in force; returns how many were."""
        moment = _utc(now)
        with self.warehouse.transaction() as connection:
            self.warehouse.lock(connection, "share_token", recipient_id)
            return self.warehouse.execute(
                connection, "share/revoke_tokens", {"recipient_id": recipient_id, "now": moment}
            )

    def recipient_of(self, bearer: str, *, now: datetime | None = None) -> str | None:
        """The recipient a bearer token was issued to; None when it is unknown, expired or revoked."""
        if not bearer or len(bearer) > MAX_BEARER_LENGTH or not bearer.isascii():  # ours are URL-safe ASCII
            return None
        digest = token_hash(bearer)
        with self.warehouse.engine.connect() as connection:
            found = connection.execute(sql("share/token_in_force"), {"token_sha256": digest, "now": _utc(now)}).first()
        # The lookup already matched the hash; comparing again in constant time costs nothing and
        # keeps the decision independent of how the database compared the strings.
        if found is None or not hmac.compare_digest(found.token_sha256, digest):
            return None
        return str(found.recipient_id)

    def _issue(
        self, recipient_id: str, lifetime: timedelta, now: datetime | None, *, revoke_earlier: bool
    ) -> IssuedToken:
        check_lifetime(lifetime)
        if not recipient_id:
            raise ValueError("a token needs a recipient id")
        issued_at = _utc(now)
        expires_at = (issued_at + lifetime).replace(microsecond=0)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self.warehouse.transaction() as connection:
            self.warehouse.lock(connection, "share_token", recipient_id)
            if revoke_earlier:
                self.warehouse.execute(
                    connection, "share/revoke_tokens", {"recipient_id": recipient_id, "now": issued_at}
                )
            self.warehouse.execute(
                connection,
                "share/insert_token",
                {
                    "token_sha256": token_hash(token),
                    "recipient_id": recipient_id,
                    "issued_at": issued_at,
                    "expires_at": expires_at,
                },
            )
        return IssuedToken(token, recipient_id, expires_at.replace(tzinfo=UTC))


def check_lifetime(lifetime: timedelta) -> None:
    if lifetime <= timedelta(0):
        raise ValueError("a token's lifetime must be positive")
    if lifetime > MAX_LIFETIME:
        raise ValueError(f"a token may live at most {MAX_LIFETIME.days} days, not {lifetime.days}")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc(moment: datetime | None) -> datetime:
    """`moment` (default: now) in UTC without its zone, as the warehouse stores every time."""
    if moment is None:
        moment = datetime.now(UTC)
    elif moment.tzinfo is None:
        raise ValueError("give times with their zone (e.g. datetime.now(UTC)), not naive ones")
    return moment.astimezone(UTC).replace(tzinfo=None)


def write_profile(path: Path, endpoint: str, issued: IssuedToken) -> None:
    """The Delta Sharing profile file (PROTOCOL.md, "Profile File Format"), readable by its owner
    only: it holds the token. Written to a temporary file beside it and renamed, so neither a
    half-written profile nor one readable by others ever exists at `path`."""
    profile = {
        "shareCredentialsVersion": PROFILE_VERSION,
        "endpoint": endpoint,
        "bearerToken": issued.token,
        "expirationTime": issued.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(json.dumps(profile, indent=2) + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
