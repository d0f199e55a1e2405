"""moto's S3 server: the local endpoint of the tests, the demo and the benchmark.

moto 5.2 finds each request's backend by listing its own package folder on disk
(`moto.backends.list_of_moto_modules`, about 200 `stat` calls), inside the lock every request of
the server takes (`DomainDispatcherApplication.get_application`). The folder does not change while
a server runs, so `list_moto_modules_once` lists it once: the answers are the same, and requests no
longer queue behind the listing (a day of the daily-pipeline suite runs about a tenth faster).

    python -m careshare_dev.local_s3 -H 127.0.0.1 -p PORT    # moto_server's arguments
"""

from __future__ import annotations

import sys
from typing import Any


def list_moto_modules_once() -> None:
    import moto.backends

    modules = tuple(moto.backends.list_of_moto_modules())  # a second call lists the tuple again
    moto.backends.list_of_moto_modules = lambda: modules


def threaded_moto_server() -> Any:
    """A ThreadedMotoServer on a free port of 127.0.0.1, not yet started."""
    from moto.server import ThreadedMotoServer

    list_moto_modules_once()
    return ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)


if __name__ == "__main__":
    from moto.server import main

    list_moto_modules_once()
    main(sys.argv[1:])
