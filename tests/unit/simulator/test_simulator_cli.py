from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from tests.conftest import REPO_ROOT

from careshare_sim import Compression, HeadAnswer, ServerModes
from careshare_sim.cli import _modes, build_parser, main

SMALL = ["--care-homes", "120", "--community", "80"]
SOURCES = os.pathsep.join(str(REPO_ROOT / folder) for folder in ("include", "sim"))


def test_generate_writes_the_landing_layout_and_truth(tmp_path):
    out = tmp_path / "landing"
    status = main(["generate", *SMALL, "--start", "2020-11-28", "--end", "2020-12-01", "--out", str(out)])
    assert status == 0
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.csv"))
    assert files == [
        "cqc_update/2020-11-30.csv",
        "cqc_update/2020-12-01.csv",
        "ct_care_homes/2020-11-28.csv",
        "ct_care_homes/2020-11-29.csv",
        "ct_care_homes/2020-11-30.csv",
        "ct_care_homes/2020-12-01.csv",
        "ct_home_care/2020-11-30.csv",
        "ct_home_care/2020-12-01.csv",
    ]
    for name in files:
        feed, day = name.removesuffix(".csv").split("/")
        truth = (out / "_truth" / feed / f"{day}.jsonl").read_text().splitlines()
        file_truth = json.loads((out / "_truth" / feed / f"{day}.file.json").read_text())
        content = (out / name).read_bytes()
        rows = list(csv.reader(content.decode(file_truth["encoding"]).splitlines()))
        assert len(truth) == len(rows) - 1 == file_truth["rows"]
    directory = (out / "_truth" / "directory.jsonl").read_text().splitlines()
    assert len(directory) == 120 + 80 + 2


def test_generate_can_pick_feeds(tmp_path):
    day = ["--start", "2020-12-01", "--end", "2020-12-01"]
    main(["generate", *SMALL, *day, "--out", str(tmp_path), "--feed", "cqc_update"])
    assert [p.parent.name for p in tmp_path.rglob("*.csv")] == ["cqc_update"]


def test_commands_set_their_handlers():
    parser = build_parser()
    args = parser.parse_args(["serve", "--port", "0"])
    assert args.command == "serve" and callable(args.handler)
    with pytest.raises(SystemExit) as usage:
        main([])
    assert usage.value.code == 2


def test_serve_refuses_to_start_without_its_keys(monkeypatch):
    monkeypatch.delenv("CARESHARE_SIM_API_KEY", raising=False)
    with pytest.raises(SystemExit, match="CARESHARE_SIM_API_KEY"):
        main(["serve", *SMALL, "--port", "0"])


@contextmanager
def serving(*options: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """`careshare-sim serve` in its own process; yields it and its banner line."""
    env = {
        **os.environ,
        "PYTHONPATH": SOURCES,
        "CARESHARE_SIM_API_KEY": "cli-secret-one",
        "CARESHARE_SIM_DIRECTORY_KEY": "cli-secret-two",
    }
    command = [sys.executable, "-m", "careshare_sim.cli", "serve", *SMALL, "--port", "0", *options]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield process, process.stdout.readline()
    finally:
        process.terminate()
        process.wait(timeout=10)


def export_request(banner: str) -> urllib.request.Request:
    base_url = banner.split(" on ")[-1].split(" with ")[0].strip()
    return urllib.request.Request(
        f"{base_url}/exports/ct_care_homes/2020-12-01", headers={"X-API-Key": "cli-secret-one"}
    )


def test_serve_answers_over_http_and_never_prints_its_keys():
    with serving() as (process, banner), urllib.request.urlopen(export_request(banner), timeout=10) as response:
        assert response.status == 200
        assert response.read().startswith((b"CT_Home_ID", b"\xef\xbb\xbfCT_Home_ID"))
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "cli-secret" not in banner + out + err


def test_files_are_identical_across_processes(tmp_path):
    digests = set()
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        env = {**os.environ, "PYTHONPATH": SOURCES, "PYTHONHASHSEED": hash_seed}
        command = [sys.executable, "-m", "careshare_sim.cli", "generate", *SMALL]
        command += ["--start", "2020-12-01", "--end", "2020-12-01", "--out", str(out)]
        subprocess.run(command, env=env, check=True, capture_output=True)
        digests.add(tuple((p.name, p.read_bytes()) for p in sorted(out.rglob("*.*"))))
    assert len(digests) == 1


def test_serve_loads_a_fault_plan(tmp_path):
    faults = tmp_path / "faults.json"
    rule = {"kind": "rate_limited", "target": "exports", "times": 1, "retry_after": 9}
    faults.write_text(json.dumps({"rules": [rule]}))
    with serving("--faults", str(faults)) as (_, banner):
        assert banner.strip().endswith("with 1 fault rules")
        with pytest.raises(urllib.error.HTTPError) as limited:
            urllib.request.urlopen(export_request(banner), timeout=10)
        assert (limited.value.code, limited.value.headers["Retry-After"]) == (429, "9")
        with urllib.request.urlopen(export_request(banner), timeout=10) as response:
            assert response.status == 200


def test_serve_refuses_a_broken_fault_plan(tmp_path, monkeypatch):
    monkeypatch.setenv("CARESHARE_SIM_API_KEY", "k1")
    monkeypatch.setenv("CARESHARE_SIM_DIRECTORY_KEY", "k2")
    faults = tmp_path / "faults.json"
    faults.write_text('{"rules": [{"kind": "meteor"}]}')
    with pytest.raises(SystemExit, match="not a fault plan"):
        main(["serve", *SMALL, "--port", "0", "--faults", str(faults)])


def test_generate_can_write_the_first_versions_and_set_rates(tmp_path):
    day = ["--start", "2020-12-01", "--end", "2020-12-01", "--feed", "ct_care_homes"]
    rates = ["--clean", "--mess-rate", "empty_file=1", "--mess-rate", "extra_column=1"]
    main(["generate", *SMALL, *day, *rates, "--version", "first", "--out", str(tmp_path / "first")])
    main(["generate", *SMALL, *day, *rates, "--out", str(tmp_path / "latest")])
    assert (tmp_path / "first" / "ct_care_homes" / "2020-12-01.csv").read_bytes() == b""
    latest = (tmp_path / "latest" / "ct_care_homes" / "2020-12-01.csv").read_text()
    assert latest.splitlines()[0].endswith(("Comments", "Export_Version", "Region_Name"))
    truth = json.loads((tmp_path / "first" / "_truth" / "ct_care_homes" / "2020-12-01.file.json").read_text())
    assert [v["file_mess"] for v in truth["versions"]] == [["empty_file", "extra_column"], ["extra_column"]]
    with pytest.raises(SystemExit, match="no mess kind 'meteor'"):
        main(["generate", *SMALL, *day, "--mess-rate", "meteor=1", "--out", str(tmp_path)])


def test_serve_flags_set_the_server_modes():
    parse = build_parser().parse_args
    assert _modes(parse(["serve"])) == ServerModes()
    flags = ["--head", "501", "--compression", "deflate", "--redirect-exports", "--etag", "--no-last-modified"]
    assert _modes(parse(["serve", *flags])) == ServerModes(
        head=HeadAnswer.REFUSED_501,
        compression=Compression.DEFLATE,
        redirect_exports=True,
        etag=True,
        last_modified=False,
    )
    with pytest.raises(SystemExit):
        parse(["serve", "--head", "404"])


def test_serve_behaves_as_its_flags_say():
    with serving("--head", "405", "--compression", "gzip", "--etag", "--no-last-modified") as (_, banner):
        request = export_request(banner)
        request.method = "HEAD"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        request = export_request(banner)
        request.add_header("Accept-Encoding", "gzip")
        with urllib.request.urlopen(request, timeout=10) as response:
            headers = response.headers
    assert refused.value.code == 405
    assert headers["Content-Encoding"] == "gzip" and headers["ETag"] and "Last-Modified" not in headers


def test_serve_refuses_redirects_it_cannot_name_a_host_for(monkeypatch):
    monkeypatch.setenv("CARESHARE_SIM_API_KEY", "k1")
    monkeypatch.setenv("CARESHARE_SIM_DIRECTORY_KEY", "k2")
    with pytest.raises(SystemExit, match="need a file host URL"):
        main(["serve", *SMALL, "--host", "0.0.0.0", "--port", "0", "--redirect-exports"])
