"""Alerts: their ECS shape, and each sink against a real receiver on 127.0.0.1."""

import json
import logging
import re
import socket
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nids.alerts import AlertEmitter, JsonLinesSink, SyslogSink, WebhookSink, build_alert, rfc5424, sinks_from_options

NF_RECORD = {"IPV4_SRC_ADDR": "192.168.100.147", "L4_SRC_PORT": 48516, "IPV4_DST_ADDR": "192.168.100.3", "L4_DST_PORT": 80}
ATTACK = {"label": "DDoS", "is_attack": True, "confidence": 0.93, "probabilities": {"Benign": 0.01, "DDoS": 0.93, "DoS": 0.06}}
NORMAL = {"label": "Benign", "is_attack": False, "confidence": 0.99, "probabilities": {"Benign": 0.99, "DDoS": 0.01}}
# RFC 5424: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA SP MSG
SYSLOG_LINE = re.compile(
    rb"^<(?P<pri>\d{1,3})>1 (?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,6}Z) (?P<host>[!-~]{1,255}) (?P<app>[!-~]{1,48}) "
    rb"(?P<procid>[!-~]{1,128}) (?P<msgid>[!-~]{1,32}) - \xef\xbb\xbf(?P<msg>.*)$",
    re.DOTALL,
)


def alert(n: int = 0) -> dict:
    return build_alert(ATTACK, model_id="nf-bot-iot-v2-multiclass-cnn", dataset="nf-bot-iot-v2", record=NF_RECORD, row=n + 1)


def test_ecs_shape():
    when = datetime(2026, 11, 28, 19, 0, 1, 234000, tzinfo=UTC)
    doc = build_alert(ATTACK, model_id="m1", dataset="nf-bot-iot-v2", record=NF_RECORD, row=7, timestamp=when)
    assert doc["@timestamp"] == "2026-11-28T19:00:01.234Z"
    assert doc["event"]["kind"] == "alert"
    assert doc["event"]["category"] == ["network", "intrusion_detection"]
    assert doc["event"]["module"] == "nids" and doc["event"]["dataset"] == "nids.nf-bot-iot-v2"
    assert doc["event"]["action"] == doc["rule"]["name"] == "DDoS"
    assert doc["event"]["risk_score"] == pytest.approx(93.0)
    assert doc["observer"]["name"] == doc["nids"]["model"] == "m1"
    assert doc["source"] == {"ip": "192.168.100.147", "port": 48516}
    assert doc["destination"] == {"ip": "192.168.100.3", "port": 80}
    assert doc["nids"]["row"] == 7 and doc["nids"]["confidence"] == pytest.approx(0.93)
    assert "novelty" not in doc["nids"]
    json.dumps(doc)  # plain JSON all the way down


def test_normal_verdicts_are_no_alert_unless_unknown():
    assert build_alert(NORMAL, model_id="m1", dataset="nsl-kdd") is None
    novel = NORMAL | {"novelty": {"score": 4.2, "threshold": 3.0, "unknown": True}}
    doc = build_alert(novel, model_id="m1", dataset="nsl-kdd")
    assert doc["nids"]["novelty"] == {"score": 4.2, "threshold": 3.0, "unknown": True}
    assert doc["nids"]["is_attack"] is False
    assert "source" not in doc and "destination" not in doc  # NSL-KDD rows carry no addresses


def test_jsonl_sink(tmp_path):
    path = tmp_path / "alerts.jsonl"
    with AlertEmitter([JsonLinesSink(path)]) as emitter:
        for n in range(250):
            emitter.emit(alert(n))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [doc["nids"]["row"] for doc in lines] == list(range(1, 251))
    assert emitter.stats() | {"queued": 0} == {
        "emitted": 250,
        "sent": 250,
        "dropped_queue_full": 0,
        "dropped_sink_failed": 0,
        "queued": 0,
    }


def test_rfc5424_format():
    when = datetime(2026, 11, 28, 19, 0, 1, 5, tzinfo=UTC)
    message = rfc5424('{"a":"é"}', hostname="sensor 1", procid="42", timestamp=when)
    match = SYSLOG_LINE.match(message)
    assert match, message
    assert match["pri"] == b"36"  # facility 4 (security) * 8 + severity 4 (warning)
    assert match["ts"] == b"2026-11-28T19:00:01.000005Z"
    assert match["host"] == b"sensor1"  # spaces are not allowed in a header field
    assert json.loads(match["msg"].decode()) == {"a": "é"}


class _Collector:
    def __init__(self):
        self.messages: list[bytes] = []
        self.arrived = threading.Event()
        self.expected = 0

    def add(self, message: bytes) -> None:
        self.messages.append(message)
        if len(self.messages) >= self.expected:
            self.arrived.set()


@pytest.fixture
def collector() -> _Collector:
    return _Collector()


@pytest.fixture
def udp_receiver(collector) -> Iterator[tuple[str, int]]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            collector.add(self.request[0])

    with socketserver.UDPServer(("127.0.0.1", 0), Handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield server.server_address
        server.shutdown()


@pytest.fixture
def tcp_receiver(collector) -> Iterator[tuple[str, int]]:
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):  # RFC 6587 octet counting: "LENGTH SP MESSAGE"
            while length := self._read_length():
                collector.add(self.rfile.read(length))

        def _read_length(self) -> int:
            digits = b""
            while (c := self.rfile.read(1)) not in (b" ", b""):
                digits += c
            return int(digits) if digits else 0

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield server.server_address
        server.shutdown()


@pytest.mark.parametrize("protocol", ["udp", "tcp"])
def test_syslog_sink(protocol, collector, request):
    host, port = request.getfixturevalue(f"{protocol}_receiver")
    collector.expected = 30
    emitter = AlertEmitter([SyslogSink(host, port, protocol=protocol)])
    for n in range(30):
        emitter.emit(alert(n))
    emitter.close()
    assert collector.arrived.wait(5), f"{len(collector.messages)} of 30 syslog messages arrived"
    docs = []
    for message in collector.messages:
        match = SYSLOG_LINE.match(message)
        assert match, message[:200]
        assert match["app"] == b"nids" and match["msgid"] == b"alert"
        docs.append(json.loads(match["msg"].decode()))
    assert sorted(d["nids"]["row"] for d in docs) == list(range(1, 31))
    assert docs[0]["event"]["kind"] == "alert" and docs[0]["source"]["ip"] == "192.168.100.147"
    assert emitter.dropped == 0


class _Webhook:
    """An HTTP receiver that answers 503 to the first `failures` posts, then 200."""

    def __init__(self, failures: int = 0, status: int = 503):
        self.failures, self.status, self.attempts, self.received = failures, status, 0, []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.attempts += 1
                ok = hook.attempts > hook.failures
                if ok:
                    hook.received.extend(json.loads(body))
                self.send_response(200 if ok else hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_webhook_retries_with_backoff():
    hook = _Webhook(failures=2)
    try:
        emitter = AlertEmitter([WebhookSink(hook.url, retries=3, backoff=0.05)], batch_size=500)
        for n in range(40):
            emitter.emit(alert(n))
        emitter.close()
    finally:
        hook.stop()
    assert hook.attempts >= 3  # two refusals, then the retry that got through
    assert sorted(d["nids"]["row"] for d in hook.received) == list(range(1, 41))
    assert emitter.stats()["sent"] == 40 and emitter.dropped == 0


def test_webhook_that_keeps_failing_drops_counts_and_logs(caplog):
    hook = _Webhook(failures=10**6)
    try:
        with caplog.at_level(logging.WARNING, logger="nids.alerts"):
            emitter = AlertEmitter([WebhookSink(hook.url, retries=2, backoff=0.01)], log_interval=60)
            for n in range(5):
                emitter.emit(alert(n))
            emitter.close()
    finally:
        hook.stop()
    assert hook.received == [] and hook.attempts >= 3
    assert emitter.stats()["dropped_sink_failed"] == 5 and emitter.dropped == 5
    assert any("webhook answered 503" in r.getMessage() for r in caplog.records)


def test_webhook_client_error_is_not_retried():
    hook = _Webhook(failures=10**6, status=400)
    try:
        emitter = AlertEmitter([WebhookSink(hook.url, retries=3, backoff=0.01)])
        emitter.emit(alert())
        emitter.close()
    finally:
        hook.stop()
    assert hook.attempts == 1 and emitter.dropped == 1


def test_hanging_receiver_never_slows_emit(caplog):
    """A webhook that accepts connections and never answers: emit() stays non-blocking, the excess is counted."""
    listener = socket.create_server(("127.0.0.1", 0))  # backlog only: nobody ever reads or answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    try:
        with caplog.at_level(logging.WARNING, logger="nids.alerts"):
            emitter = AlertEmitter([WebhookSink(url, timeout=0.5, retries=1, backoff=0.01)], queue_size=100, log_interval=60)
            doc = alert()
            started = time.perf_counter()
            accepted = sum(emitter.emit(doc) for _ in range(10_000))
            elapsed = time.perf_counter() - started
            emitter.close(timeout=0.2)
    finally:
        listener.close()
    # One hung delivery alone takes a second (two 0.5 s timeouts): 10,000 blocking emits would take hours.
    assert elapsed < 2.0, f"10,000 emits took {elapsed:.2f} s"
    assert accepted <= 100 + emitter.batch_size
    stats = emitter.stats()
    assert stats["dropped_queue_full"] == 10_000 - accepted
    assert emitter.dropped >= 10_000 - accepted
    # Rate-limited: thousands of drops, a handful of log lines.
    drops_logged = [r for r in caplog.records if "queue full" in r.getMessage()]
    assert 1 <= len(drops_logged) <= 2


def test_options_build_the_sinks(tmp_path):
    assert AlertEmitter.from_options() is None  # off by default
    sinks = sinks_from_options(jsonl=tmp_path / "a.jsonl", syslog="127.0.0.1:5514", webhook="http://127.0.0.1:9/x")
    assert [type(s) for s in sinks] == [JsonLinesSink, SyslogSink, WebhookSink]
    for sink in sinks:
        sink.close()
    with pytest.raises(ValueError, match="HOST:PORT"):
        sinks_from_options(syslog="localhost")
    with pytest.raises(ValueError, match="http"):
        sinks_from_options(webhook="ftp://x")


class _FailingSink:
    def send(self, alerts) -> None:
        raise ConnectionError("receiver gone")

    def close(self) -> None:
        pass


def test_count_hook_is_told_every_count(tmp_path):
    told = Counter()
    emitter = AlertEmitter(
        [JsonLinesSink(tmp_path / "a.jsonl"), _FailingSink()],
        queue_size=3,
        on_count=lambda name, n, sink: told.update({(name, sink): n}),
        log_interval=60,
    )
    accepted = sum(emitter.emit(alert(n)) for n in range(50))
    emitter.close()
    stats = emitter.stats()
    # Delivered to the file but failed by the other sink: an alert counts as sent only when every sink took it.
    assert told == {
        ("emitted", None): 50,
        ("dropped_queue_full", None): stats["dropped_queue_full"],
        ("dropped_sink_failed", None): accepted,
        ("sink_failed", "_FailingSink"): accepted,
    }
    assert stats["dropped_queue_full"] + stats["dropped_sink_failed"] == 50 and stats["sent"] == 0
