"""Work that need not happen the moment it arises, done in batches.

Per-request bookkeeping (an access-log line, a few metric updates) costs a request about three times as much
spread over requests as done many at a time: one pass over a block runs with the interpreter's caches warm,
where each request pays for cold ones. bench/observability_cost.py measures what the two cost a request now.
"""

import atexit
import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
Item = TypeVar("Item")

# The longest an item waits by default: what a worker killed outright loses of its access lines and metrics.
MAX_SECONDS = 0.2


class Batcher(Generic[Item]):
    """Items gather and go to `handle` together, in the order they came: once `max_items` have gathered,
    `max_seconds` after the first of them, on `flush()` and at exit. Safe to use from any thread.

    A handler's error is logged, not raised: it would reach whichever request happened to fill the batch."""

    def __init__(self, handle: Callable[[list[Item]], None], max_items: int, max_seconds: float = MAX_SECONDS) -> None:
        self.handle, self.max_items, self.max_seconds = handle, max_items, max_seconds
        self._items: list[Item] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None  # one at a time: a thread every max_seconds at most
        atexit.register(self.flush)

    def add(self, item: Item) -> None:
        with self._lock:
            self._items.append(item)
            if len(self._items) >= self.max_items:
                self._handle()
            elif self._timer is None:
                self._timer = threading.Timer(self.max_seconds, self._on_time)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self._lock:
            self._handle()

    def _on_time(self) -> None:
        with self._lock:
            self._timer = None
            self._handle()

    def _handle(self) -> None:
        """The caller holds the lock, so batches leave in the order their items came."""
        if not self._items:
            return
        items, self._items = self._items, []
        try:
            self.handle(items)
        except Exception:
            log.exception("a batch of %d items was lost", len(items))
