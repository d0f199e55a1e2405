"""Object-store requests in parallel: publication is bound by round trips, not bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

THREADS = 8  # within boto3's default pool of 10 connections

T = TypeVar("T")
R = TypeVar("R")


def in_parallel(work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(work, items))
