"""Attack verdicts as alerts in Elastic Common Schema (ECS) fields, sent to a SIEM without ever slowing the caller.

Off by default: nothing is sent unless a sink is configured. Imports only the standard library and httpx, so the
service can use it as it is.

API (the service and `nids score` use it the same way)::

    from nids.alerts import AlertEmitter, JsonLinesSink, SyslogSink, WebhookSink, build_alert

    emitter = AlertEmitter([SyslogSink("127.0.0.1", 5514, protocol="udp")], queue_size=10_000)
    alert = build_alert(prediction, model_id="nsl-kdd-multiclass-cnn", dataset="nsl-kdd", record=record)
    if alert is not None:          # None: a normal verdict that the novelty detector (if any) does not flag
        emitter.emit(alert)        # never blocks: a full queue drops the alert and counts it
    ...
    emitter.dropped                # alerts lost so far (queue full + a sink gave up): export it as a counter
    emitter.stats()                # {"emitted", "sent", "dropped_queue_full", "dropped_sink_failed", "queued"}
    emitter.close(timeout=10.0)    # delivers what is queued (within the timeout), then closes the sinks

`sinks_from_options(jsonl=..., syslog="HOST:PORT", syslog_protocol="udp", webhook="https://...")` builds the sink list
from plain settings; an empty list means alerts are off (`AlertEmitter.from_options` returns None then).

A prediction is the per-record answer of the service and the CLI: `{"label", "is_attack", "confidence",
"probabilities"}` plus `"novelty": {"score", "threshold", "unknown"}` when the model has a novelty detector.

Sinks:
- `JsonLinesSink(path)`: one ECS document per line, appended.
- `SyslogSink(host, port, protocol="udp"|"tcp")`: RFC 5424 messages whose MSG is the ECS document as JSON (UTF-8,
  with the BOM the RFC asks for); over TCP, framed by octet counting (RFC 6587), reconnecting after an error.
- `WebhookSink(url)`: HTTP POST of a JSON array of up to `batch_size` alerts, retried with exponential backoff on
  connection errors, timeouts, 429 and 5xx; any other status is final.
A sink that still fails after its retries loses the alerts of that call: they are counted and logged, never silent.
The count is per call (a batch of up to `batch_size` alerts), so it errs on the side of "lost": a UDP batch cut short
by an ICMP "port unreachable" counts whole, although its first messages went out. With several sinks, an alert counts
as sent only when every sink took it.
"""

import json
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, Self

import httpx

log = logging.getLogger(__name__)

ECS_VERSION = "8.11.0"
# The identifying columns of flow datasets, mapped to ECS (source|destination).(ip|port).
ENDPOINT_COLUMNS = {
    "IPV4_SRC_ADDR": ("source", "ip"),
    "L4_SRC_PORT": ("source", "port"),
    "IPV4_DST_ADDR": ("destination", "ip"),
    "L4_DST_PORT": ("destination", "port"),
    "saddr": ("source", "ip"),
    "sport": ("source", "port"),
    "daddr": ("destination", "ip"),
    "dport": ("destination", "port"),
}


def is_alert(prediction: Mapping[str, Any]) -> bool:
    """An attack verdict, or traffic the novelty detector finds unlike anything seen in training."""
    novelty = prediction.get("novelty")
    return bool(prediction["is_attack"]) or bool(novelty and novelty.get("unknown"))


def build_alert(
    prediction: Mapping[str, Any],
    *,
    model_id: str,
    dataset: str,
    record: Mapping[str, Any] | None = None,
    row: int | None = None,
    timestamp: datetime | None = None,
) -> dict[str, Any] | None:
    """The ECS document of one verdict, or None when it is no alert. `record` supplies source/destination
    addresses and ports where it has the dataset's identifying columns; `row` is the input row number."""
    if not is_alert(prediction):
        return None
    label, confidence = str(prediction["label"]), float(prediction["confidence"])
    novelty = prediction.get("novelty")
    when = (timestamp or datetime.now(UTC)).astimezone(UTC)
    alert: dict[str, Any] = {
        "@timestamp": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "alert",
            "category": ["network", "intrusion_detection"],
            "type": ["info"],
            "module": "nids",
            "dataset": f"nids.{dataset}",
            "action": label,
            "risk_score": round(confidence * 100, 3),  # ECS risk scores run from 0 to 100
        },
        "rule": {"name": label, "category": label, "ruleset": model_id},
        "observer": {"type": "ids", "product": "nids", "name": model_id},
        # Fields outside ECS live under the product's own name, as ECS asks of custom fields.
        "nids": {
            "model": model_id,
            "label": label,
            "is_attack": bool(prediction["is_attack"]),
            "confidence": confidence,
            "probabilities": dict(prediction.get("probabilities") or {}),
        },
    }
    if novelty:
        alert["nids"]["novelty"] = {
            "score": float(novelty["score"]),
            "threshold": float(novelty["threshold"]),
            "unknown": bool(novelty["unknown"]),
        }
    if row is not None:
        alert["nids"]["row"] = int(row)
    for column, (side, field) in ENDPOINT_COLUMNS.items():
        value = record.get(column) if record else None
        if field == "port":
            value = _port(value)
        if value is not None and value != "":
            alert.setdefault(side, {})[field] = value if field == "port" else str(value)
    where = ""
    if "source" in alert or "destination" in alert:
        where = f" {_endpoint(alert.get('source'))} -> {_endpoint(alert.get('destination'))}"
    unknown = " (unknown to the model)" if novelty and novelty.get("unknown") else ""
    alert["message"] = f"{label}{unknown} with confidence {confidence:.3f}{where} [{model_id}]"
    return alert


def _port(value: Any) -> int | None:
    """ECS ports are numbers: a value that is none (flow files write them as text too) is left out."""
    try:
        port = int(value)
    except (TypeError, ValueError):
        return None
    return port if 0 <= port <= 65535 else None


def _endpoint(side: Mapping[str, Any] | None) -> str:
    if not side:
        return "?"
    return f"{side.get('ip', '?')}:{side['port']}" if "port" in side else str(side.get("ip", "?"))


class Sink(Protocol):
    def send(self, alerts: Sequence[dict[str, Any]]) -> None:
        """Deliver the alerts or raise: the emitter counts and logs what a raising call loses."""

    def close(self) -> None: ...


class JsonLinesSink:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._file = self.path.open("a", encoding="utf-8")

    def send(self, alerts: Sequence[dict[str, Any]]) -> None:
        self._file.write("".join(json.dumps(a, separators=(",", ":")) + "\n" for a in alerts))
        self._file.flush()

    def close(self) -> None:
        self._file.close()


# RFC 5424 section 6.2.1: severity 4 = warning; facility 4 = security/authorization messages.
SYSLOG_FACILITY_SECURITY = 4
SYSLOG_SEVERITY_WARNING = 4
_UTF8_BOM = "\ufeff"


def rfc5424(
    msg: str,
    *,
    app_name: str = "nids",
    msgid: str = "alert",
    facility: int = SYSLOG_FACILITY_SECURITY,
    severity: int = SYSLOG_SEVERITY_WARNING,
    hostname: str | None = None,
    procid: str | None = None,
    timestamp: datetime | None = None,
) -> bytes:
    """One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG`, with no
    structured data (`-`) and a UTF-8 MSG that starts with the BOM, as section 6.4 requires of UTF-8 text."""
    when = (timestamp or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    header = " ".join(
        [
            f"<{facility * 8 + severity}>1",
            when,
            _header_field(hostname or socket.gethostname(), 255),
            _header_field(app_name, 48),
            _header_field(procid or str(os.getpid()), 128),
            _header_field(msgid, 32),
            "-",
        ]
    )
    return f"{header} {_UTF8_BOM}{msg}".encode()


def _header_field(value: str, limit: int) -> str:
    """Header fields are printable US-ASCII without spaces (PRINTUSASCII, %d33-126), of bounded length."""
    cleaned = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return cleaned or "-"


class SyslogSink:
    def __init__(self, host: str, port: int, *, protocol: str = "udp", timeout: float = 5.0, app_name: str = "nids"):
        if protocol not in ("udp", "tcp"):
            raise ValueError(f"syslog protocol must be udp or tcp, not {protocol!r}")
        self.address, self.protocol, self.timeout, self.app_name = (host, port), protocol, timeout, app_name
        self._hostname = socket.gethostname()
        self._socket: socket.socket | None = None

    def _connect(self) -> socket.socket:
        if self._socket is None:
            if self.protocol == "udp":
                self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._socket.connect(self.address)
            else:
                self._socket = socket.create_connection(self.address, timeout=self.timeout)
            self._socket.settimeout(self.timeout)
        return self._socket

    def send(self, alerts: Sequence[dict[str, Any]]) -> None:
        messages = [
            rfc5424(json.dumps(a, separators=(",", ":")), app_name=self.app_name, hostname=self._hostname) for a in alerts
        ]
        try:
            sock = self._connect()
            if self.protocol == "udp":
                for message in messages:
                    sock.send(message)
            else:  # RFC 6587 octet counting: the receiver never has to guess where a message ends
                sock.sendall(b"".join(b"%d %s" % (len(m), m) for m in messages))
        except OSError:
            self.close()  # reconnect on the next call
            raise

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


class WebhookSink:
    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.5,
        headers: Mapping[str, str] | None = None,
    ):
        self.url, self.retries, self.backoff = url, retries, backoff
        self._client = httpx.Client(timeout=timeout, headers=dict(headers or {}))

    def send(self, alerts: Sequence[dict[str, Any]]) -> None:
        body = json.dumps(list(alerts), separators=(",", ":")).encode()
        for attempt in range(self.retries + 1):
            try:
                response = self._client.post(self.url, content=body, headers={"Content-Type": "application/json"})
            except httpx.TransportError as exc:  # connection refused or reset, timeouts
                error: Exception = exc
            else:
                if response.is_success:
                    return
                error = RuntimeError(f"webhook answered {response.status_code}")
                if response.status_code != 429 and response.status_code < 500:
                    raise error  # the receiver refuses this body: sending it again cannot help
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        raise error

    def close(self) -> None:
        self._client.close()


def sinks_from_options(
    *,
    jsonl: str | Path | None = None,
    syslog: str | None = None,
    syslog_protocol: str = "udp",
    webhook: str | None = None,
    timeout: float = 5.0,
) -> list[Sink]:
    """The sinks that plain settings ask for; `syslog` is HOST:PORT. Raises ValueError on a malformed option."""
    sinks: list[Sink] = []
    if jsonl:
        sinks.append(JsonLinesSink(jsonl))
    if syslog:
        host, _, port = syslog.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"syslog target must be HOST:PORT, not {syslog!r}")
        sinks.append(SyslogSink(host, int(port), protocol=syslog_protocol, timeout=timeout))
    if webhook:
        if not webhook.startswith(("http://", "https://")):
            raise ValueError(f"webhook must be an http:// or https:// URL, not {webhook!r}")
        sinks.append(WebhookSink(webhook, timeout=timeout))
    return sinks


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

    def __init__(self, sinks: Iterable[Sink], *, queue_size: int = 10_000, batch_size: int = 100, log_interval: float = 10.0):
        self.sinks = list(sinks)
        self.batch_size = batch_size
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._counts = {"emitted": 0, "sent": 0, "dropped_queue_full": 0, "dropped_sink_failed": 0}
        self._log = _RateLimitedLog(log_interval)
        self._closing = threading.Event()
        self._worker = threading.Thread(target=self._run, name="nids-alerts", daemon=True)
        self._worker.start()

    @classmethod
    def from_options(cls, queue_size: int = 10_000, **options: Any) -> "AlertEmitter | None":
        """An emitter for the sinks `sinks_from_options` builds, or None when no sink is configured (alerts off)."""
        sinks = sinks_from_options(**options)
        return cls(sinks, queue_size=queue_size) if sinks else None

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
                    self._log.warning("alert sink %s failed, %d alerts lost: %s", type(sink).__name__, len(batch), exc)
            self._count("sent" if delivered else "dropped_sink_failed", len(batch))
