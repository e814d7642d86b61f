"""The ECS (Elastic Common Schema) document of one verdict: what makes a verdict an alert, and which fields it fills."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

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
