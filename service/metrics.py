"""Prometheus metrics: what the service answers, how fast, and what it predicts.

Under `python -m service` the values live in PROMETHEUS_MULTIPROC_DIR (set up by service/__main__.py), one
file per worker process, so `/metrics` of any worker reports the sum over all of them. Without that variable
(tests, `create_app` in a tool) each app counts in its own registry.

Requests are counted by the middleware by route template (never the raw path: unbounded label values) and
status, which also counts failed logins (401 on POST /auth/token) and rate-limit refusals (429) without the
auth code knowing about metrics. The share of attacks is a query, not a stored value:
`sum(rate(nids_predictions_total{is_attack="true"}[5m])) / sum(rate(nids_predictions_total[5m]))`.

Alert delivery (nids_alerts_*) is counted per process by the alert emitter's hook: see service/alert_metrics.py.
"""

import os
from collections.abc import Iterable
from typing import Any

import numpy as np
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from inference import Predictions
from service import alert_metrics

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STAGE_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
BATCH_BUCKETS = (1, 10, 100, 500, 1000, 2500, 5000, 10_000, 50_000)
UNMATCHED_ROUTE = "unmatched"  # 404s and anything no route took: one label value, whatever the path


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """The service's metrics, registered in their own registry (or in the shared directory) per app."""

    def __init__(self, collectors: Iterable[Collector] = ()) -> None:
        """`collectors`: collected first when scraped, in the process that answers the scrape (the pending bookkeeping,
        the drift)."""
        self.collectors = list(collectors)
        self.shared = multiprocess_dir() is not None
        # In multiprocess mode the live objects only write their files; /metrics reads all workers' files.
        self._registry = None if self.shared else CollectorRegistry()
        registry = self._registry
        for collector in [*self.collectors, *alert_metrics.COUNTERS] if registry is not None else ():
            registry.register(collector)

        # Every metric goes to this app's registry (shared: to none, its values live in the directory's files).
        def metric(kind: type, name: str, documentation: str, labels: Iterable[str] = (), **options: Any) -> Any:
            return kind(name, documentation, list(labels), registry=registry, **options)

        request_labels = ("method", "route", "status")
        self.requests = metric(
            Counter, "nids_http_requests", "HTTP requests answered, by route template and status", request_labels
        )
        self.latency = metric(
            Histogram,
            "nids_http_request_duration_seconds",
            "Time from the request's arrival to its last response byte",
            request_labels,
            buckets=LATENCY_BUCKETS,
        )
        self.failed_logins = metric(Counter, "nids_failed_logins", "POST /auth/token answered 401")
        self.rate_limited = metric(Counter, "nids_rate_limited", "Requests refused with 429, by route template", ["route"])
        self.predictions = metric(
            Counter, "nids_predictions", "Records predicted, by model and label", ["model", "label", "is_attack"]
        )
        self.novelty_flags = metric(
            Counter, "nids_novelty_flags", "Records the model's novelty detector flagged as unknown", ["model"]
        )
        self.preprocess_seconds = metric(
            Histogram, "nids_preprocess_seconds", "Encoding one request's records", ["model"], buckets=STAGE_BUCKETS
        )
        self.inference_seconds = metric(
            Histogram, "nids_inference_seconds", "onnxruntime time for one request's records", ["model"], buckets=STAGE_BUCKETS
        )
        self.batch_records = metric(
            Histogram,
            "nids_batch_records",
            "Records per batch request, by body format (json, csv, arrow; oip for /v2/models/{id}/infer)",
            ["model", "format"],
            buckets=BATCH_BUCKETS,
        )
        self.models_loaded = metric(
            Gauge, "nids_model_loaded", "1 for each model a worker serves", ["model", "dataset"], multiprocess_mode="livemax"
        )
        self._children: dict[tuple, Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        """metric.labels(*labels), cached: the lookup (a lock, a tuple, a dict) costs more than the increment."""
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def set_models(self, models: Iterable[tuple[str, str]]) -> None:
        for model_id, dataset in models:
            self.models_loaded.labels(model_id, dataset).set(1)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        code = str(status)
        self._child(self.requests, method, route, code).inc()
        self._child(self.latency, method, route, code).observe(seconds)
        if status == 401 and route == "/auth/token" and method == "POST":
            self.failed_logins.inc()
        elif status == 429:
            self._child(self.rate_limited, route).inc()

    def observe_stages(self, model_id: str, preprocess_seconds: float, inference_seconds: float) -> None:
        self._child(self.preprocess_seconds, model_id).observe(preprocess_seconds)
        self._child(self.inference_seconds, model_id).observe(inference_seconds)

    def observe_predictions(self, model_id: str, predictions: Predictions) -> None:
        if len(predictions) == 1:  # the common case, without the counting
            counts = [(predictions.labels[0], predictions.is_attack[0], 1)]
        else:
            classes, first, count = np.unique(predictions.best, return_index=True, return_counts=True)
            counts = zip(np.asarray(predictions.classes)[classes], predictions.is_attack[first], count.tolist(), strict=True)
        for label, is_attack, n in counts:
            self._child(self.predictions, model_id, str(label), "true" if is_attack else "false").inc(n)
        if predictions.unknown is not None and (flagged := int(predictions.unknown.sum())):
            self._child(self.novelty_flags, model_id).inc(flagged)

    def observe_batch(self, model_id: str, body_format: str, records: int) -> None:
        self._child(self.batch_records, model_id, body_format).observe(records)

    def exposition_registry(self) -> CollectorRegistry:
        if self._registry is not None:
            return self._registry
        return shared_registry(self.collectors)

    def exposition(self) -> bytes:
        return generate_latest(self.exposition_registry())


def shared_registry(collectors: Iterable[Collector] = ()) -> CollectorRegistry:
    """A registry that reads every worker's values from PROMETHEUS_MULTIPROC_DIR when it is collected, after
    `collectors`."""
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)
    multiprocess.MultiProcessCollector(registry)
    return registry


async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics, in Prometheus's text format; open, like the health probes (see SECURITY.md)."""
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
