"""One training run, start to finish: load the splits -> encode -> balance -> fit -> evaluate -> export -> write.

`run` reads top to bottom; each step is a function below it (the data steps are in `trainer.prepare`).
"""

import json
import resource
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

from preprocess import ModelMetadata, Preprocessor
from preprocess.metadata import OnnxModelInfo
from trainer import baseline, plots
from trainer.artifacts import update_index
from trainer.config import TrainConfig
from trainer.evaluate import evaluate
from trainer.export import OPSET, PARITY_MIN_ROWS, check_parity, export_onnx, sha256_of
from trainer.losses import loss_for
from trainer.models import INPUT_NAME, OUTPUT_NAME, build, summed_into
from trainer.pipeline import PREDICT_BATCH
from trainer.prepare import Encoded, balance_training, classes_of, encode, load_splits
from trainer.summary import write_summary


def log(message: str) -> None:
    print(f"[trainer {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _plain(value):
    """numpy scalars -> Python, so examples serialise as the JSON a client would send."""
    return value.item() if isinstance(value, np.generic) else value


def run(cfg: TrainConfig) -> dict:
    started = time.perf_counter()
    keras.utils.set_random_seed(cfg.seed)
    splits = load_splits(cfg)
    classes = classes_of(cfg, splits)
    log(f"{cfg.model_id}: rows {splits.description['rows']}, trained on classes {classes.families}, output classes {classes.output}")
    data = encode(cfg, splits, classes)  # fitted on the training split only
    X_bal, y_bal, balance_report = balance_training(cfg, data)
    keras.utils.set_random_seed(cfg.seed)  # the GAN reseeds the process; the network starts from the same seed either way
    log(f"balance {cfg.balance}: {balance_report['counts_before']} -> {balance_report['counts_after']}")
    model, history, fit_seconds = fit(cfg, data, X_bal, y_bal)
    probabilities = predict_held_out(data, model)
    metrics = evaluate_all(cfg, data, probabilities)
    out = Path(cfg.out_dir) / cfg.model_id
    parity = export(model, data, probabilities, out)
    meta = metadata(cfg, data, balance_report, history, out / "model.onnx")
    metrics.update(
        model_id=cfg.model_id,
        command=shlex.join(["python", "-m", "trainer", *sys.argv[1:]]),
        config={k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items() if k != "files"},
        split=splits.description,
        balancing=balance_report,
        onnx_parity_max_abs_diff=parity,
        training={
            "fit_seconds": round(fit_seconds, 1),
            "total_seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "epochs_run": len(history["loss"]),
            "history": {k: [round(float(v), 5) for v in vals] for k, vals in history.items()},
        },
    )
    write(cfg, out, meta, metrics, history, splits.test.source)
    log(f"wrote {out} in {time.perf_counter() - started:.0f}s, peak RSS {peak_rss_mb():.0f} MB")
    return metrics


def fit(cfg: TrainConfig, data: Encoded, X_bal: np.ndarray, y_bal: np.ndarray) -> tuple[keras.Model, dict, float]:
    """Train with early stopping on the validation split; a binary model sums its families' outputs into its classes."""
    n_families = len(data.classes.families)
    loss, weights = loss_for(cfg.loss, y_bal, n_families, cfg.focal_gamma, cfg.logit_tau)
    network = build(cfg.architecture, X_bal.shape[1], n_families, cfg.learning_rate, loss)
    fit_started = time.perf_counter()
    history = network.fit(
        X_bal, y_bal,
        sample_weight=weights,
        validation_data=data.validation,
        validation_batch_size=PREDICT_BATCH,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        shuffle=True,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True)],
        verbose=2,
    ).history  # fmt: skip
    fit_seconds = time.perf_counter() - fit_started
    classes = data.classes
    model = network if cfg.task != "binary" else summed_into(network, classes.to_output, len(classes.output))
    return model, history, fit_seconds


def predict_held_out(data: Encoded, model: keras.Model) -> dict[str, np.ndarray]:
    """The model's probabilities on every held-out split, computed once: evaluation and the ONNX parity check share them."""
    return {name: model.predict(X, batch_size=PREDICT_BATCH, verbose=0) for name, (X, _) in data.held_out.items()}


def evaluate_all(cfg: TrainConfig, data: Encoded, probabilities: dict[str, np.ndarray]) -> dict:
    """Validation (for model choice) and test (reported, never used to choose), and the baselines' on the same rows."""
    classes, to_output = data.classes, data.classes.to_output

    def scores(name):
        return evaluate(to_output[data.held_out[name][1]], probabilities[name].argmax(axis=1), classes.output, classes.normal)

    metrics = {"validation": scores("validation"), "test": scores("test")}
    metrics["extra_tests"] = {name: scores(name) for name in data.extra_tests}
    log(f"test accuracy {metrics['test']['accuracy']:.4f}, macro-F1 {metrics['test']['f1_macro']:.4f}")
    if cfg.run_baseline:
        X_train, y_train = data.train
        held_out = {n: (X, to_output[y]) for n, (X, y) in data.held_out.items()}
        metrics["baselines"] = baseline.run(X_train, to_output[y_train], held_out, classes.output, classes.normal, cfg.seed)
    return metrics


def export(model: keras.Model, data: Encoded, probabilities: dict[str, np.ndarray], out: Path) -> float:
    """Write model.onnx (and model.keras, for the Keras-serving baseline in bench/; the service reads only the ONNX
    file) and return the largest difference between ONNX and Keras on held-out rows (Keras' already computed)."""
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "model.onnx"
    width = data.train[0].shape[1]
    export_onnx(model, width, onnx_path)
    model.save(out / "model.keras")
    rows = max(PARITY_MIN_ROWS, 2000)
    held_out = np.concatenate([data.test[0], data.validation[0]])[:rows]
    keras_probabilities = np.concatenate([probabilities["test"], probabilities["validation"]])[:rows]
    parity = check_parity(keras_probabilities, onnx_path, held_out)
    log(f"ONNX parity: max |difference| {parity:.2e} on {len(held_out)} held-out rows")
    return parity


def metadata(cfg: TrainConfig, data: Encoded, balance_report: dict, history: dict, onnx_path: Path) -> ModelMetadata:
    """What the service needs to serve the model, checked: its numpy transform must reproduce the trainer's encoding."""
    spec, classes, splits, encoder = cfg.spec, data.classes, data.splits, data.encoder
    test_frame, test_classes = splits.test.features, splits.test.labels.map(classes.output_of)
    examples = {
        c: {k: _plain(v) for k, v in test_frame[(test_classes == c).to_numpy()].iloc[0].items()}
        for c in classes.output
        if (test_classes == c).any()
    }
    meta = ModelMetadata(
        model_id=cfg.model_id,
        dataset=cfg.dataset,
        task=cfg.task,
        architecture=cfg.architecture,
        features=encoder.features,
        ignored_columns=[c for c in spec.columns if c not in spec.features] + encoder.constant,
        encoded_features=encoder.encoded_features,
        classes=classes.output,
        normal_class=classes.normal,
        balancing=balance_report,
        training={
            **splits.description,
            "trained_on_classes": classes.families,
            "output": "softmax over the classes" if cfg.task != "binary" else "attack = sum of the attack families' probabilities",
            "epochs_run": len(history["loss"]),
            "batch_size": cfg.batch_size,
            "loss": cfg.loss,
            "validation": splits.description["validation"]["kind"],
        },
        examples=examples,
        onnx=OnnxModelInfo(
            sha256=sha256_of(onnx_path), input_name=INPUT_NAME, input_width=data.train[0].shape[1], output_name=OUTPUT_NAME, opset=OPSET
        ),
    )
    drift = float(np.abs(Preprocessor(meta).transform(test_frame.head(1000).to_dict("records")) - encoder.transform(test_frame.head(1000))).max())
    if drift > 1e-6:
        raise RuntimeError(f"numpy preprocessing differs from the trainer's by {drift}")
    return meta


def write(cfg: TrainConfig, out: Path, meta: ModelMetadata, metrics: dict, history: dict, test_source: str) -> None:
    """metadata.json, metrics.json and the plots, then the artifacts folder's index and summary."""
    (out / "metadata.json").write_text(meta.model_dump_json(indent=2))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    plots.confusion_matrix_png(metrics["test"], f"{cfg.model_id} on {test_source}", out / "confusion_matrix.png")
    plots.history_png(history, cfg.model_id, out / "training_history.png")
    plots.bar_chart_png(
        {"before balancing": meta.balancing["counts_before"], "after balancing": meta.balancing["counts_after"]},
        f"{cfg.model_id}: training rows per class ({cfg.balance})",
        out / "class_balance.png",
    )
    update_index(Path(cfg.out_dir))
    write_summary(Path(cfg.out_dir))
