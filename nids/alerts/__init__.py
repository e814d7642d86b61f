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

`AlertEmitter(..., on_count=hook)` calls `hook(name, n, sink)` with every count as it is made (the names of `stats()`,
and "sink_failed" with the failing sink's class name), so a program can export them: the service makes them
Prometheus counters that add up over its workers.

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

from nids.alerts.ecs import build_alert, is_alert
from nids.alerts.emitter import AlertEmitter
from nids.alerts.sinks import JsonLinesSink, Sink, SyslogSink, WebhookSink, rfc5424, sinks_from_options

__all__ = [
    "AlertEmitter",
    "JsonLinesSink",
    "Sink",
    "SyslogSink",
    "WebhookSink",
    "build_alert",
    "is_alert",
    "rfc5424",
    "sinks_from_options",
]
