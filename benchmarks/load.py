"""A small closed-loop HTTP load generator: a fixed number of threads, each with its own session."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import requests

from .common import percentile


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: Counter

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def p(self, pct: float) -> float:
        return percentile(self.latencies, pct)


def post_load(
    url: str,
    body: Callable[[int], dict],
    headers: Callable[[int], dict[str, str]],
    total: int,
    concurrency: int,
) -> LoadResult:
    """POST `total` bodies with `concurrency` threads; each latency is one request's round trip.

    Request i sends body(i) with headers(i) (e.g. the API key of one of several partner agencies).
    """
    counter = itertools.count()
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()

    def worker() -> None:
        session = requests.Session()
        mine: list[float] = []
        codes: Counter = Counter()
        while (index := next(counter)) < total:
            started = time.perf_counter()
            try:
                status = session.post(url, json=body(index), headers=headers(index), timeout=60).status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            mine.append(time.perf_counter() - started)
            codes[status] += 1
        session.close()
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(total, time.perf_counter() - started, latencies, statuses)
