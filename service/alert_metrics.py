"""Alert delivery as Prometheus counters, kept by the alert emitter's count hook (nids/alerts knows nothing of
Prometheus).

The counters belong to the process, as its emitter does: under `python -m service` each worker writes them to its
file in PROMETHEUS_MULTIPROC_DIR and /metrics sums the workers; otherwise each app of the process registers these
same counters (service/metrics.py), so tests compare values before and after.

Alerts still queued or in flight: `nids_alerts_emitted_total - nids_alerts_sent_total - nids_alerts_dropped_total`
(summed over `reason`).
"""

from prometheus_client import Counter

EMITTED = Counter(
    "nids_alerts_emitted", "Alerts raised (attack or unknown verdicts) and offered to the delivery queue", registry=None
)
SENT = Counter("nids_alerts_sent", "Alerts every configured sink took", registry=None)
DROPPED = Counter(
    "nids_alerts_dropped",
    "Alerts lost: refused by a full queue (queue_full), or given up by a sink or still queued at shutdown (sink_failed)",
    ["reason"],
    registry=None,
)
SINK_FAILURES = Counter(
    "nids_alert_sink_failures",
    "Alerts in the batches a sink failed to deliver after its retries, by sink",
    ["sink"],
    registry=None,
)
COUNTERS = (EMITTED, SENT, DROPPED, SINK_FAILURES)
DROP_REASONS = {"dropped_queue_full": DROPPED.labels("queue_full"), "dropped_sink_failed": DROPPED.labels("sink_failed")}


def count(name: str, n: int, sink: str | None) -> None:
    """The emitter's count hook (nids.alerts.emitter.CountHook)."""
    if name == "emitted":
        EMITTED.inc(n)
    elif name == "sent":
        SENT.inc(n)
    elif name in DROP_REASONS:
        DROP_REASONS[name].inc(n)
    elif name == "sink_failed":
        SINK_FAILURES.labels(sink).inc(n)
