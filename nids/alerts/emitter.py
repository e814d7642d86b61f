"""The emitter: a bounded queue in front of the sinks, so that raising an alert never slows the caller."""

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Self

from nids.alerts.sinks import Sink, sinks_from_options

log = logging.getLogger(__name__)

# Told of every count as it is made: (count name as in stats(), or "sink_failed"; how many; the sink's class name
# for "sink_failed", else None). How a program exports the counts (the service: Prometheus counters).
CountHook = Callable[[str, int, str | None], None]


class _RateLimitedLog:
    """At most one warning per `interval` seconds; the ones held back are counted in the next."""

    def __init__(self, interval: float = 10.0):
        self.interval, self._last, self._held = interval, float("-inf"), 0
        self._lock = threading.Lock()

    def warning(self, message: str, *args: Any) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.interval:
                self._held += 1
                return
            held, self._held, self._last = self._held, 0, now
        suffix = f" ({held} similar messages suppressed)" if held else ""
        log.warning(message + suffix, *args)


class AlertEmitter:
    """A bounded queue in front of the sinks, drained by one background thread in batches."""

    def __init__(
        self,
        sinks: Iterable[Sink],
        *,
        queue_size: int = 10_000,
        batch_size: int = 100,
        log_interval: float = 10.0,
        on_count: CountHook | None = None,
    ):
        self.sinks = list(sinks)
        self.batch_size = batch_size
        self._on_count = on_count
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._counts = {"emitted": 0, "sent": 0, "dropped_queue_full": 0, "dropped_sink_failed": 0}
        self._log = _RateLimitedLog(log_interval)
        self._closing = threading.Event()
        self._worker = threading.Thread(target=self._run, name="nids-alerts", daemon=True)
        self._worker.start()

    @classmethod
    def from_options(cls, queue_size: int = 10_000, on_count: CountHook | None = None, **options: Any) -> "AlertEmitter | None":
        """An emitter for the sinks `sinks_from_options` builds, or None when no sink is configured (alerts off)."""
        sinks = sinks_from_options(**options)
        return cls(sinks, queue_size=queue_size, on_count=on_count) if sinks else None

    def emit(self, alert: dict[str, Any]) -> bool:
        """Queue one alert; False (and counted as dropped) when the queue is full or the emitter is closed."""
        self._count("emitted")
        if not self._closing.is_set():
            try:
                self._queue.put_nowait(alert)
                return True
            except queue.Full:
                pass
        self._count("dropped_queue_full")
        self._log.warning("alert queue full (%d): dropping alerts; %d dropped so far", self._queue.maxsize, self.dropped)
        return False

    @property
    def dropped(self) -> int:
        """Alerts lost: refused by a full queue, or given up by a sink after its retries."""
        with self._lock:
            return self._counts["dropped_queue_full"] + self._counts["dropped_sink_failed"]

    def stats(self) -> dict[str, int]:
        with self._lock:
            return self._counts | {"queued": self._queue.qsize()}

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued, waiting at most `timeout` seconds; whatever is left then is dropped and counted."""
        self._closing.set()
        self._worker.join(timeout)
        left = 0
        while True:
            try:
                self._queue.get_nowait()
                left += 1
            except queue.Empty:
                break
        if left:
            self._count("dropped_sink_failed", left)
            log.warning("alert sinks too slow to flush within %.1f s: dropped %d queued alerts", timeout, left)
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:  # a sink's close error must not hide the others'
                log.warning("closing alert sink %s failed: %s", type(sink).__name__, exc)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n
        if self._on_count is not None:
            self._on_count(name, n, None)

    def _run(self) -> None:
        while not (self._closing.is_set() and self._queue.empty()):
            try:
                batch = [self._queue.get(timeout=0.05)]
            except queue.Empty:
                continue
            while len(batch) < self.batch_size:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            delivered = True
            for sink in self.sinks:
                try:
                    sink.send(batch)
                except Exception as exc:  # any sink error is counted and logged; the other sinks go on
                    delivered = False
                    if self._on_count is not None:
                        self._on_count("sink_failed", len(batch), type(sink).__name__)
                    self._log.warning("alert sink %s failed, %d alerts lost: %s", type(sink).__name__, len(batch), exc)
            self._count("sent" if delivered else "dropped_sink_failed", len(batch))
