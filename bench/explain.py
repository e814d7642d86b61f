"""The cost of the operator features, against a prediction measured in the same run on the same real records:
one explanation (POST /predict/explain's work) per permutation count, with its error against a many-permutation
reference, and the drift window's bookkeeping per prediction (single records and 1,000-record batches).

    python -m bench.explain [--models nsl-kdd-multiclass-cnn ...] [--records 10] [--seconds 2]
"""

import argparse
import json
from pathlib import Path

import numpy as np

from bench.inprocess import median_seconds
from bench.records import real_records
from bench.report import context, header, table, write
from inference import load_models
from inference.explain import PERMUTATIONS, Explainer
from service.drift import DriftMonitors

PERMUTATION_COUNTS = (1, 2, PERMUTATIONS, 8)
REFERENCE_PERMUTATIONS = 32
BATCH = 1000


def explain_costs(model, records: list[dict], seconds: float) -> list[dict]:
    """Per permutation count: median ms per explanation, mean model rows per explanation, and the mean absolute
    error of its contributions against REFERENCE_PERMUTATIONS permutations (same records)."""
    rows = {"count": 0}
    reference = Explainer(model, REFERENCE_PERMUTATIONS)
    exact = [{name: value for name, _, value in reference.explain(r).contributions} for r in records]
    predict_ms = (
        np.median([median_seconds(lambda r=r: model.predict_records([r]), seconds / len(records)) for r in records]) * 1e3
    )
    results = []
    for permutations in PERMUTATION_COUNTS:
        explainer = Explainer(model, permutations)
        scored = explainer.probabilities

        def counted(encoded, scored=scored):
            rows["count"] += len(encoded)
            return scored(encoded)

        explainer.probabilities = counted
        errors, times, counts = [], [], []
        for record, truth in zip(records, exact, strict=True):
            rows["count"] = 0
            answer = explainer.explain(record)
            counts.append(rows["count"])
            errors += [abs(value - truth[name]) for name, _, value in answer.contributions]
            times.append(
                median_seconds(
                    lambda r=record, e=explainer: e.explain(r),
                    seconds / len(records),
                    least=2,
                    most=20,
                )
            )
        ms = float(np.median(times) * 1e3)
        results.append(
            {
                "permutations": permutations,
                "ms_per_explanation": round(ms, 1),
                "x_one_prediction": round(ms / predict_ms, 1),
                "model_rows": int(np.mean(counts)),
                "mean_abs_error": float(np.mean(errors)),
                "max_abs_error": float(np.max(errors)),
                "one_prediction_ms": round(float(predict_ms), 3),
            }
        )
    return results


def drift_costs(model, records: list[dict], seconds: float) -> dict:
    """µs of one prediction and of the drift bookkeeping it adds, for one record and for a batch."""
    names = [f.name for f in model.meta.features]
    monitors = DriftMonitors({model.id: model.meta}, window=10_000)
    costs = {}
    for size in (1, BATCH):
        batch = (records * (size // len(records) + 1))[:size]
        columns = {name: [r[name] for r in batch] for name in names}
        predict = median_seconds(lambda c=columns, n=size: model.predict_columns(c, n), seconds)
        observe = median_seconds(lambda c=columns, n=size: monitors.observe(model.id, c, n), seconds)
        costs[size] = {
            "predict_us": round(predict * 1e6, 1),
            "drift_us": round(observe * 1e6, 1),
            "share": round(observe / predict, 3),
        }
    return costs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--models", nargs="+", help="default: each dataset's default model")
    parser.add_argument("--records", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=2.0, help="timing budget per measurement")
    args = parser.parse_args(argv)
    registry = load_models(args.artifacts)
    chosen = args.models or list(registry.defaults.values())
    data = {"context": context(), "models": {}}
    sections = []
    for model_id in chosen:
        model = registry.get(model_id)
        records = real_records(model.dataset, args.records, [model.meta], seed=1)
        explained, drift = (
            explain_costs(model, records, args.seconds),
            drift_costs(model, records, args.seconds),
        )
        data["models"][model_id] = {"explain": explained, "drift": drift}
        sections.append(
            f"## {model_id}\n\nExplanations of {len(records)} real records, {len(model.meta.background)} background rows; "
            f"error against "
            f"{REFERENCE_PERMUTATIONS} permutations; one prediction of one record: {explained[0]['one_prediction_ms']} ms.\n\n"
            + table(
                [
                    "permutations",
                    "ms per explanation",
                    "x one prediction",
                    "model rows",
                    "mean |error|",
                    "max |error|",
                ],
                [
                    [
                        r["permutations"],
                        r["ms_per_explanation"],
                        r["x_one_prediction"],
                        r["model_rows"],
                        r["mean_abs_error"],
                        r["max_abs_error"],
                    ]
                    for r in explained
                ],
            )
            + "\n\nDrift bookkeeping per prediction call:\n\n"
            + table(
                ["records", "prediction µs", "drift µs", "drift / prediction"],
                [[n, c["predict_us"], c["drift_us"], c["share"]] for n, c in drift.items()],
            )
        )
    markdown = header("Explanation and drift cost", data["context"]) + "\n" + "\n\n".join(sections)
    write("explain", json.loads(json.dumps(data)), markdown)


if __name__ == "__main__":
    main()
