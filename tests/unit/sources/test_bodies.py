"""Bodies as they come over the wire: compressed or not, cut short or corrupted, or far too large."""

from __future__ import annotations

import gzip
import hashlib
import json
import tracemalloc
import zlib
from datetime import date

import pytest

from careshare.conform.parse import MAX_FILE_BYTES
from careshare.sources.cqc_directory import DirectoryClient
from careshare.sources.delivery import FeedEndpoint
from careshare.sources.http import FileTooLarge, RetryPolicy, SourceUnavailable, UnsupportedEncoding
from tests.unit.sources.source_servers import Reply, serving

FILE = ("CT_Home_ID,Home_Name\n" + "".join(f"{n},Home number {n}\n" for n in range(2000))).encode()
SHA = hashlib.sha256(FILE).hexdigest()
DAY = date(2020, 12, 1)
QUICK = RetryPolicy(attempts=2, backoff_seconds=0.01, timeout_seconds=(2.0, 5.0))


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def fetch(reply: Reply, waits: list[float] | None = None):
    with serving(lambda _r: reply) as server:
        endpoint = FeedEndpoint(server.base_url, "k", QUICK, sleep=(waits if waits is not None else []).append)
        return endpoint.fetch("ct_care_homes", DAY), server


@pytest.mark.parametrize(
    ("coding", "packed"),
    [
        ("gzip", gzip.compress(FILE)),
        ("x-gzip", gzip.compress(FILE)),
        ("deflate", zlib.compress(FILE)),  # zlib-wrapped, as RFC 9110 means it
        ("deflate", raw_deflate(FILE)),  # raw, as some servers send it
        ("gzip", gzip.compress(FILE[:1000]) + gzip.compress(FILE[1000:])),  # two gzip members
    ],
)
def test_a_compressed_body_is_decoded_its_length_counting_the_bytes_sent(coding, packed):
    assert len(packed) < len(FILE)
    delivery, server = fetch(Reply(200, packed, {"Content-Encoding": coding, "X-Content-SHA256": SHA}))
    assert delivery is not None and delivery.data == FILE and delivery.sha256 == SHA
    assert server.received[0].header("Accept-Encoding") == "gzip, deflate"


def test_a_content_length_that_counts_the_decoded_file_is_a_body_cut_short():
    packed = gzip.compress(FILE)
    waits: list[float] = []
    reply = Reply(200, packed, {"Content-Encoding": "gzip"}, content_length=len(FILE))
    with pytest.raises(SourceUnavailable, match="gave up after 2 attempts") as caught:
        fetch(reply, waits)
    assert "IncompleteRead" in str(caught.value) or "body cut short" in str(caught.value)
    assert waits == [0.01]


def test_the_digest_is_of_the_decoded_file_not_of_the_bytes_sent():
    packed = gzip.compress(FILE)
    wrong = hashlib.sha256(packed).hexdigest()
    with pytest.raises(SourceUnavailable, match="body does not match X-Content-SHA256"):
        fetch(Reply(200, packed, {"Content-Encoding": "gzip", "X-Content-SHA256": wrong}))


def test_a_compressed_stream_that_ends_early_is_asked_again():
    replies = [gzip.compress(FILE)[:-20], gzip.compress(FILE)]
    waits: list[float] = []
    with serving(lambda _r: Reply(200, replies.pop(0), {"Content-Encoding": "gzip"})) as server:
        delivery = FeedEndpoint(server.base_url, "k", QUICK, sleep=waits.append).fetch("ct_care_homes", DAY)
    assert delivery is not None and delivery.data == FILE and waits == [0.01]


def test_a_body_that_is_not_what_its_encoding_says_is_asked_again():
    with pytest.raises(SourceUnavailable, match="body is not valid gzip"):
        fetch(Reply(200, FILE, {"Content-Encoding": "gzip"}))


def test_an_unknown_encoding_is_permanent():
    waits: list[float] = []
    with serving(lambda _r: Reply(200, b"\x1b\x00", {"Content-Encoding": "br"})) as server:
        endpoint = FeedEndpoint(server.base_url, "k", QUICK, sleep=waits.append)
        with pytest.raises(UnsupportedEncoding, match="Content-Encoding 'br'"):
            endpoint.fetch("ct_care_homes", DAY)
        assert server.methods() == ["GET"] and waits == []


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """256 MiB of zeros in about 250 KiB: four times the size limit."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    mebibyte = bytes(1 << 20)
    return b"".join(packer.compress(mebibyte) for _ in range(256)) + packer.flush()


def test_a_gzip_bomb_stops_at_the_size_limit_with_memory_bounded(gzip_bomb):
    assert len(gzip_bomb) < 1 << 20
    waits: list[float] = []
    with serving(lambda _r: Reply(200, gzip_bomb, {"Content-Encoding": "gzip"})) as server:
        endpoint = FeedEndpoint(server.base_url, "k", QUICK, sleep=waits.append)
        tracemalloc.start()
        try:
            with pytest.raises(FileTooLarge) as caught:
                endpoint.fetch("ct_care_homes", DAY)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert server.methods() == ["GET"] and waits == []
    assert f"{server.base_url}/exports/ct_care_homes/2020-12-01" in str(caught.value)
    assert f"over the {MAX_FILE_BYTES}-byte limit" in str(caught.value)
    assert peak < MAX_FILE_BYTES + 16 * 2**20  # the capped file, not the 256 MiB it would grow to


def test_an_uncompressed_body_over_the_limit_is_refused_too():
    with pytest.raises(FileTooLarge):
        fetch(Reply(200, bytes(MAX_FILE_BYTES + 1)))


def test_the_directory_reads_compressed_json_the_same_way():
    page = {"total": 1, "page": 1, "totalPages": 1, "locations": [{"locationId": "1-101"}]}
    packed = gzip.compress(json.dumps(page).encode())
    with serving(lambda _r: Reply(200, packed, {"Content-Encoding": "gzip"})) as server:
        assert DirectoryClient(server.base_url, "k", QUICK).location_ids() == ["1-101"]
        assert server.received[0].header("Ocp-Apim-Subscription-Key") == "k"
