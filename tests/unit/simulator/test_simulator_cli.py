from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import urllib.request

import pytest

from careshare.cli import build_parser, main
from careshare.config import REPO_ROOT

SMALL = ["--care-homes", "120", "--community", "80"]


def test_generate_writes_the_landing_layout_and_truth(tmp_path):
    out = tmp_path / "landing"
    status = main(["simulator", "generate", *SMALL, "--start", "2020-11-28", "--end", "2020-12-01", "--out", str(out)])
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
    main(["simulator", "generate", *SMALL, *day, "--out", str(tmp_path), "--feed", "cqc_update"])
    assert [p.parent.name for p in tmp_path.rglob("*.csv")] == ["cqc_update"]


def test_groups_register_their_own_subcommands():
    parser = build_parser()
    args = parser.parse_args(["simulator", "serve", "--port", "0"])
    assert args.group == "simulator" and args.command == "serve" and callable(args.handler)
    assert main([]) == 2


def test_serve_refuses_to_start_without_its_keys(monkeypatch):
    monkeypatch.delenv("CARESHARE_SIM_API_KEY", raising=False)
    with pytest.raises(SystemExit, match="CARESHARE_SIM_API_KEY"):
        main(["simulator", "serve", *SMALL, "--port", "0"])


def test_serve_answers_over_http_and_never_prints_its_keys():
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT / "include"),
        "CARESHARE_SIM_API_KEY": "cli-secret-one",
        "CARESHARE_SIM_DIRECTORY_KEY": "cli-secret-two",
    }
    command = [sys.executable, "-m", "careshare.cli", "simulator", "serve", *SMALL, "--port", "0"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()
        base_url = banner.strip().split(" on ")[-1]
        request = urllib.request.Request(
            f"{base_url}/exports/ct_care_homes/2020-12-01", headers={"X-API-Key": "cli-secret-one"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert response.read().startswith((b"CT_Home_ID", b"\xef\xbb\xbfCT_Home_ID"))
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "cli-secret" not in banner + out + err


def test_files_are_identical_across_processes(tmp_path):
    digests = set()
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "include"), "PYTHONHASHSEED": hash_seed}
        command = [sys.executable, "-m", "careshare.cli", "simulator", "generate", *SMALL]
        command += ["--start", "2020-12-01", "--end", "2020-12-01", "--out", str(out)]
        subprocess.run(command, env=env, check=True, capture_output=True)
        digests.add(tuple((p.name, p.read_bytes()) for p in sorted(out.rglob("*.*"))))
    assert len(digests) == 1
