"""Where alerts go: a JSON Lines file, syslog (RFC 5424 over UDP or TCP) or a webhook; each sink delivers a batch or
raises, and the emitter counts what a raising call loses."""

import json
import os
import socket
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx


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
