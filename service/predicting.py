"""What every prediction route does around the model, in one place: the stages timed, the answers counted in the
metrics (with the next block of requests' bookkeeping: service/bookkeeping.py), the drift window fed, the access
log told who asked which model for how many records, and an alert sent per attack or unknown verdict."""

from collections.abc import Mapping, Sequence
from time import perf_counter
from typing import Any

from fastapi import Request

from inference import Model, Predictions
from service.alerting import send_prediction_alerts
from service.metrics import Metrics


def predict_observed(
    request: Request,
    user_id: int,
    model: Model,
    columns: Mapping[str, Sequence[Any]],
    rows: int,
    batch_format: str | None = None,
    records: Sequence[Any] | None = None,
) -> Predictions:
    """The model's predictions for these columns (column name -> its `rows` values; columns the model does not
    take, such as flow endpoints, are ignored but give the alerts their addresses). `batch_format`: the body format
    a batch request is counted under; `records`: the validated records of a JSON body, the alerts' endpoints then."""
    began = perf_counter()
    encoded = model.preprocessor.transform_columns(columns, rows)
    encoded_at = perf_counter()
    predictions = model.predict_encoded(encoded)
    inferred_at = perf_counter()
    state = request.app.state
    metrics: Metrics | None = state.metrics
    if metrics is not None:
        stages = (encoded_at - began, inferred_at - encoded_at)
        state.bookkeeping.later(_count, metrics, model.id, *stages, predictions, batch_format)
    state.drift.observe(model.id, columns, rows)
    access = request.scope["state"]
    access["user_id"], access["model"], access["records"] = user_id, model.id, rows
    if state.alerts is not None:
        send_prediction_alerts(state.alerts, model.id, model.dataset, predictions, columns, records)
    return predictions


def _count(
    metrics: Metrics, model_id: str, encoding: float, inference: float, predictions: Predictions, batch_format: str | None
) -> None:
    metrics.observe_stages(model_id, encoding, inference)
    metrics.observe_predictions(model_id, predictions)
    if batch_format is not None:
        metrics.observe_batch(model_id, batch_format, len(predictions))
