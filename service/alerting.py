"""The service's attack verdicts sent out as ECS alerts, through the same emitter `nids score` uses.

Off unless a sink is configured (NIDS_ALERTS_JSONL, NIDS_ALERTS_SYSLOG, NIDS_ALERTS_WEBHOOK). Emitting only queues:
a slow or failing receiver never delays an answer, and what cannot be delivered is counted and logged (nids.alerts).
"""

from collections.abc import Sequence
from typing import Any

from nids.alerts import AlertEmitter, build_alert, is_alert
from service.core.config import Settings


def alert_emitter(settings: Settings) -> AlertEmitter | None:
    """The emitter the settings ask for, or None when alerts are off."""
    return AlertEmitter.from_options(
        queue_size=settings.alerts_queue_size,
        jsonl=settings.alerts_jsonl,
        syslog=settings.alerts_syslog,
        syslog_protocol=settings.alerts_syslog_protocol,
        webhook=settings.alerts_webhook,
    )


def send_alerts(
    emitter: AlertEmitter, model_id: str, dataset: str, answers: Sequence[dict[str, Any]], records: Sequence[Any] | None
) -> None:
    """One alert per attack or unknown verdict. `records` (the validated records, when the body had them) give
    the alerts their source and destination addresses and ports; only the alerting rows are converted."""
    for i, answer in enumerate(answers):
        if is_alert(answer):
            record = records[i].model_dump() if records is not None else None
            emitter.emit(build_alert(answer, model_id=model_id, dataset=dataset, record=record))
