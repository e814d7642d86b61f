"""The service's attack verdicts sent out as ECS alerts, through the same emitter `nids score` uses.

Off unless a sink is configured (NIDS_ALERTS_JSONL, NIDS_ALERTS_SYSLOG, NIDS_ALERTS_WEBHOOK). Emitting only queues:
a slow or failing receiver never delays an answer, and what cannot be delivered is counted (Prometheus counters,
service/alert_metrics.py) and logged (nids.alerts).
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from inference import Predictions
from nids.alerts import AlertEmitter, build_alert
from nids.alerts.ecs import ENDPOINT_COLUMNS
from service import alert_metrics
from service.core.config import Settings


def alert_emitter(settings: Settings) -> AlertEmitter | None:
    """The emitter the settings ask for, or None when alerts are off."""
    return AlertEmitter.from_options(
        queue_size=settings.alerts_queue_size,
        on_count=alert_metrics.count,
        jsonl=settings.alerts_jsonl,
        syslog=settings.alerts_syslog,
        syslog_protocol=settings.alerts_syslog_protocol,
        webhook=settings.alerts_webhook,
    )


def send_prediction_alerts(
    emitter: AlertEmitter,
    model_id: str,
    dataset: str,
    predictions: Predictions,
    columns: Mapping[str, Sequence[Any]],
    records: Sequence[Any] | None = None,
) -> None:
    """One alert per attack or unknown verdict; only the alerting rows' answers are built. Their source and
    destination come from `records` (validated records, for a JSON body) or else from whichever endpoint columns
    (ECS source/destination ip and port) `columns` has: decoded OIP tensors, CSV or Arrow columns."""
    # is_alert's rule (an attack, or unknown to the novelty detector) over the whole batch, before any answer is built.
    flagged = predictions.is_attack if predictions.unknown is None else predictions.is_attack | predictions.unknown
    rows = np.flatnonzero(flagged)
    if not rows.size:
        return
    endpoints = {name: columns[name] for name in ENDPOINT_COLUMNS if name in columns}

    def record(row: int) -> Mapping[str, Any]:
        return records[row].model_dump() if records is not None else {name: v[row] for name, v in endpoints.items()}

    _emit(emitter, model_id, dataset, zip(predictions.take(rows).answers(), map(record, rows.tolist()), strict=True))


def _emit(
    emitter: AlertEmitter, model_id: str, dataset: str, verdicts: Iterable[tuple[dict[str, Any], Mapping[str, Any] | None]]
) -> None:
    for answer, record in verdicts:
        emitter.emit(build_alert(answer, model_id=model_id, dataset=dataset, record=record))
