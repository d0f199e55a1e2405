"""moto's server in a process of its own: moto keeps its backends (IAM's users and policies) and
its authentication switch per process, so a test that provisions IAM or enforces it there leaves
every other test's endpoint as it was. Also what the IAM tests share: the environment
`careshare access provision` reads, and a call that S3 may deny."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from tests.conftest import REFERENCE_CSV, S3_REGION

SERVER = """
import sys
from careshare_dev.local_s3 import threaded_moto_server
server = threaded_moto_server()
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""


@contextmanager
def moto_server_process() -> Iterator[str]:
    """The server's URL until the block ends; then it stops."""
    with server_process(SERVER) as url:
        yield url


@contextmanager
def server_process(script: str) -> Iterator[str]:
    """Run `script`, which prints the port it serves on and serves until its stdin closes."""
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def provisioning_environment(iam_endpoint: str, publish_uri: str = "s3://careshare-published") -> dict[str, str]:
    """What `careshare access provision` reads: IAM at `iam_endpoint`, the councils, the publication."""
    return {
        "AWS_ENDPOINT_URL_IAM": iam_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": S3_REGION,
        "CARESHARE_REFERENCE_CSV": str(REFERENCE_CSV),
        "CARESHARE_PUBLISH_URI": publish_uri,
    }


def allowed(call: Callable[[], Any]) -> bool:
    """Whether S3 let `call` through; a denial must be S3's, not another error."""
    try:
        call()
    except ClientError as error:
        assert error.response["Error"]["Code"] in {"AccessDenied", "403"}, error.response
        return False
    return True
