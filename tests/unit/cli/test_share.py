"""`careshare share profile|revoke|serve`: a profile for a configured recipient only, the token in
the file and nowhere else (not stdout, stderr or the log), rotation and revocation taking effect
for the server's `recipient_of`, endpoints that keep the token off plain http, and `serve` handing
create_app the platform, the recipients and the token check."""

from __future__ import annotations

import json
import logging
import sys
import types
from datetime import UTC, datetime, timedelta

import pytest

from careshare.cli import main
from careshare.cli.share import profile_endpoint
from careshare.share.tokens import ShareTokens
from careshare.warehouse import Warehouse
from tests.conftest import REFERENCE_CSV, migrate_warehouse

ENDPOINT = "https://share.example.org/delta-sharing"


@pytest.fixture
def environment(tmp_path, monkeypatch):
    """A local platform: SQLite warehouse and folders for the stores."""
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    for variable, value in {
        "CARESHARE_HOME": str(tmp_path),
        "CARESHARE_WAREHOUSE_URL": url,
        "CARESHARE_RAW_ARCHIVE_URI": str(tmp_path / "raw"),
        "CARESHARE_PUBLISH_URI": str(tmp_path / "published"),
        "CARESHARE_QUALITY_URI": str(tmp_path / "quality"),
        "CARESHARE_REFERENCE_CSV": str(REFERENCE_CSV),
    }.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("CARESHARE_SHARING_ENDPOINT", raising=False)
    monkeypatch.delenv("CARESHARE_ALLOW_INSECURE_HTTP", raising=False)
    migrate_warehouse(url)
    return url


@pytest.fixture
def tokens(environment):
    warehouse = Warehouse(environment)
    warehouse.migrate()
    yield ShareTokens(warehouse)
    warehouse.engine.dispose()


def profile(tmp_path, recipient: str, *options: str, name: str = "profile.share"):
    out = tmp_path / name
    assert main(["share", "profile", recipient, "--out", str(out), "--endpoint", ENDPOINT, *options]) == 0
    return out, json.loads(out.read_text())


def test_a_profile_holds_a_working_token_that_is_shown_nowhere_else(tmp_path, tokens, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    out, written = profile(tmp_path, "la-e08000035", "--days", "30")
    token = written["bearerToken"]
    assert written["shareCredentialsVersion"] == 1 and written["endpoint"] == ENDPOINT
    expires = datetime.fromisoformat(written["expirationTime"].replace("Z", "+00:00"))
    assert timedelta(days=29, hours=23) < expires - datetime.now(UTC) <= timedelta(days=30)
    assert tokens.recipient_of(token) == "la-e08000035"
    captured = capsys.readouterr()
    assert token not in captured.out + captured.err + caplog.text
    assert "la-e08000035" in captured.err and str(out) in captured.err


def test_an_unknown_recipient_gets_no_token_and_a_clear_error(tmp_path, tokens, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["share", "profile", "la-nowhere", "--out", str(tmp_path / "p.share"), "--endpoint", ENDPOINT])
    assert "no recipient 'la-nowhere'" in str(stopped.value.code)
    assert not (tmp_path / "p.share").exists()
    with tokens.warehouse.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM share_token").scalar() == 0


def test_rotating_revokes_the_earlier_profiles_and_revoking_ends_them_all(tmp_path, tokens, capsys):
    _, first = profile(tmp_path, "lrf-cumbria", name="first.share")
    _, second = profile(tmp_path, "lrf-cumbria", name="second.share")
    _, leeds = profile(tmp_path, "ccg-leeds", name="leeds.share")
    assert [tokens.recipient_of(p["bearerToken"]) for p in (first, second)] == ["lrf-cumbria"] * 2

    _, rotated = profile(tmp_path, "lrf-cumbria", "--rotate", name="rotated.share")
    assert [tokens.recipient_of(p["bearerToken"]) for p in (first, second, rotated)] == [None, None, "lrf-cumbria"]
    capsys.readouterr()

    assert main(["share", "revoke", "lrf-cumbria"]) == 0
    assert "1 tokens of lrf-cumbria revoked" in capsys.readouterr().err
    assert tokens.recipient_of(rotated["bearerToken"]) is None
    assert tokens.recipient_of(leeds["bearerToken"]) == "ccg-leeds"


def test_a_recipient_no_longer_configured_can_still_be_revoked(tokens, capsys):
    tokens.issue("lrf-gone", timedelta(days=1))
    assert main(["share", "revoke", "lrf-gone"]) == 0
    err = capsys.readouterr().err
    assert "'lrf-gone' is not a recipient" in err and "1 tokens of lrf-gone revoked" in err


@pytest.mark.parametrize("days", ["0", "366", "-1", "ninety"])
def test_a_lifetime_outside_a_year_is_refused(tmp_path, environment, days, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["share", "profile", "dhsc", "--out", str(tmp_path / "p.share"), "--endpoint", ENDPOINT, "--days", days])
    assert stopped.value.code == 2 and not (tmp_path / "p.share").exists()


def test_the_endpoint_keeps_the_token_off_plain_http_across_the_network():
    assert profile_endpoint("https://share.example.org", {}) == ENDPOINT
    assert profile_endpoint("https://share.example.org/", {}) == ENDPOINT
    assert profile_endpoint(None, {"CARESHARE_SHARING_ENDPOINT": ENDPOINT + "/"}) == ENDPOINT
    assert profile_endpoint("https://example.org/careshare/ds", {}) == "https://example.org/careshare/ds"
    assert profile_endpoint("http://127.0.0.1:8090", {}) == "http://127.0.0.1:8090/delta-sharing"
    assert profile_endpoint("http://localhost:8090/delta-sharing", {}) == "http://localhost:8090/delta-sharing"
    insecure = {"CARESHARE_ALLOW_INSECURE_HTTP": "1"}
    assert profile_endpoint("http://careshare-sharing:8090", insecure) == "http://careshare-sharing:8090/delta-sharing"
    for refused, env in [
        ("http://share.example.org", {}),
        ("ftp://share.example.org", {}),
        ("https://share.example.org/?token=x", {}),
        ("share.example.org", {}),
        (None, {}),
    ]:
        with pytest.raises(SystemExit):
            profile_endpoint(refused, env)


def test_serve_hands_create_app_the_platform_recipients_and_token_check(environment, monkeypatch, tokens):
    import uvicorn

    made, served = {}, {}

    def create_app(platform, recipients, recipient_of, *, url_lifetime):
        made.update(platform=platform, recipients=recipients, recipient_of=recipient_of, url_lifetime=url_lifetime)
        return "the app"

    monkeypatch.setitem(sys.modules, "careshare.share.server", types.SimpleNamespace(create_app=create_app))
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(app=app, **options))
    assert main(["share", "serve", "--host", "0.0.0.0", "--port", "8091", "--url-minutes", "5"]) == 0

    assert served == {"app": "the app", "host": "0.0.0.0", "port": 8091}
    assert made["url_lifetime"] == timedelta(minutes=5)
    assert made["platform"].settings.warehouse_url == environment
    assert {"dhsc", "lrf-cumbria", "la-e08000035"} <= {r.id for r in made["recipients"]}
    issued = tokens.issue("dhsc", timedelta(days=1))
    assert made["recipient_of"](issued.token) == "dhsc" and made["recipient_of"]("nope") is None


@pytest.mark.parametrize("minutes", ["0", "61", "1440"])
def test_pre_signed_urls_last_minutes_not_days(minutes, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["share", "serve", "--url-minutes", minutes])
    assert stopped.value.code == 2
