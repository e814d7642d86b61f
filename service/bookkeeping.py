"""A request's bookkeeping, its access-log line and its metric updates, done BLOCK requests at a time after it is
answered (why: service/core/batches.py). Each is at most MAX_SECONDS late, and a scrape of this worker's metrics
brings its pending updates in first: a client that reads its answer and then asks the same worker for /metrics
finds its request counted; another worker counts it within MAX_SECONDS."""

import logging
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client.registry import Collector

from service.core.batches import MAX_SECONDS, Batcher

log = logging.getLogger(__name__)

BLOCK = 64


class Bookkeeping:
    def __init__(self, block: int = BLOCK, max_seconds: float = MAX_SECONDS) -> None:
        self._calls: Batcher[tuple[Callable[..., None], tuple]] = Batcher(_make_calls, block, max_seconds)

    def later(self, function: Callable[..., None], *args: Any) -> None:
        """`function(*args)` with the next block; the arguments must not change meanwhile."""
        self._calls.add((function, args))

    def flush(self) -> None:
        self._calls.flush()


def _make_calls(calls: list[tuple[Callable[..., None], tuple]]) -> None:
    for function, args in calls:
        try:
            function(*args)
        except Exception:  # one failing update must not lose the block's other lines and counts
            log.exception("bookkeeping call %s failed", getattr(function, "__qualname__", function))


class PendingFirst(Collector):
    """Registered before the metrics of a registry: when it is collected, the pending updates are made first."""

    def __init__(self, bookkeeping: Bookkeeping) -> None:
        self.bookkeeping = bookkeeping

    def collect(self) -> Iterable:
        self.bookkeeping.flush()
        return []
