"""Alerts for the attack verdicts of a scored table, built from its columns so both engines send the same ones."""

from datetime import datetime

import numpy as np
import pyarrow as pa

from inference import Model
from nids.alerts import AlertEmitter, build_alert


def emit_alerts(emitter: AlertEmitter, scored: pa.Table, model: Model) -> int:
    """Emit one alert per attack or unknown row of `scored`; returns how many were emitted."""
    flagged = scored.column("is_attack").to_numpy(zero_copy_only=False)
    if "novelty_unknown" in scored.column_names:
        flagged = flagged | scored.column("novelty_unknown").to_numpy(zero_copy_only=False)
    indexes = np.flatnonzero(flagged)
    if not len(indexes):
        return 0
    now = datetime.now().astimezone()
    threshold = model.meta.novelty.threshold if model.meta.novelty else None
    for row in scored.take(pa.array(indexes)).to_pylist():
        prediction = {
            "label": row["label"],
            "is_attack": row["is_attack"],
            "confidence": row["confidence"],
            "probabilities": {name: row[f"p_{name}"] for name in model.classes},
        }
        if "novelty_score" in row:
            prediction["novelty"] = {"score": row["novelty_score"], "threshold": threshold, "unknown": row["novelty_unknown"]}
        alert = build_alert(prediction, model_id=model.id, dataset=model.dataset, record=row, row=row["row"], timestamp=now)
        emitter.emit(alert)
    return len(indexes)
