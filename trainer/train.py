"""One training run, start to finish: data -> split -> encode -> balance -> train -> evaluate -> export.

Read it top to bottom; every step is a call into a module named for it.
"""

import json
import resource
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np

from preprocess import ModelMetadata, Preprocessor
from preprocess.defaults import DEFAULT_DATA_DIR, GAN_EPOCHS, GAN_SECONDS, PROTOCOLS
from preprocess.metadata import OnnxModelInfo
from trainer import baseline, plots
from trainer.artifacts import update_index
from trainer.balance import balance
from trainer.datasets import DATASETS
from trainer.encoder import Encoder
from trainer.evaluate import evaluate
from trainer.export import OPSET, PARITY_MIN_ROWS, check_parity, export_onnx, sha256_of
from trainer.models import INPUT_NAME, OUTPUT_NAME, build, summed_into
from trainer.splits import make_splits
from trainer.summary import write_summary


@dataclass
class TrainConfig:
    dataset: str
    task: str
    architecture: str
    balance: str = "none"
    balance_target: float = 1.0
    protocol: str = PROTOCOLS[0]
    seed: int = 0
    epochs: int = 30
    batch_size: int = 256
    patience: int = 4
    learning_rate: float = 1e-3
    limit_rows: int | None = None
    class_floor: int = 0
    data_dir: Path = DEFAULT_DATA_DIR
    files: list[Path] = field(default_factory=list)
    out_dir: Path = Path("artifacts")
    run_baseline: bool = True
    gan_epochs: int = GAN_EPOCHS
    gan_seconds: float = GAN_SECONDS

    @property
    def model_id(self) -> str:
        return f"{self.dataset}-{self.task}-{self.architecture}"


def log(message: str) -> None:
    print(f"[trainer {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _plain(value):
    """numpy scalars -> Python, so examples serialise as the JSON a client would send."""
    return value.item() if isinstance(value, np.generic) else value


def run(cfg: TrainConfig) -> dict:
    started = time.perf_counter()
    spec = DATASETS[cfg.dataset]
    keras.utils.set_random_seed(cfg.seed)

    # 1. data and splits. Binary models learn the attack families (the multiclass labels) and add their
    # probabilities into "attack": taught that R2L and DoS differ, a detector finds more of the rare ones.
    family_task = "multiclass" if cfg.task == "binary" else cfg.task
    splits = make_splits(spec, family_task, cfg.data_dir, cfg.protocol, cfg.seed, cfg.files or None, cfg.limit_rows, cfg.class_floor)
    families = [c for c in spec.classes(family_task) if c in set(splits.train.labels)]
    index_of = {c: i for i, c in enumerate(families)}
    normal = spec.normal_class[cfg.task]
    if cfg.task == "binary":
        classes = spec.classes("binary")
        output_of = {f: normal if f == spec.normal_class[family_task] else classes[1] for f in families}
    else:
        classes, output_of = families, {f: f for f in families}
    to_output = np.array([classes.index(output_of[f]) for f in families])
    log(f"{cfg.model_id}: rows {splits.description['rows']}, trained on classes {families}, output classes {classes}")

    def encoded(part):
        known = part.labels.isin(index_of).to_numpy()  # a class absent from training cannot be predicted
        return encoder.transform(part.features[known]), part.labels[known].map(index_of).to_numpy()

    # 2. preprocessing, fitted on the training split only
    encoder = Encoder(spec, splits.train.features)
    X_train, y_train = encoded(splits.train)
    X_val, y_val = encoded(splits.validation)
    X_test, y_test = encoded(splits.test)

    # 3. balancing, on the training split only
    names = np.array(families)[y_train]
    X_bal, names_bal, balance_report = balance(
        X_train, names, cfg.balance, cfg.seed, cfg.balance_target,
        layout_groups=encoder.onehot_groups(), gan_epochs=cfg.gan_epochs, gan_seconds=cfg.gan_seconds,
        holdout=(X_val, np.array(families)[y_val]),  # GAN fidelity is measured on validation rows, never test
    )  # fmt: skip
    keras.utils.set_random_seed(cfg.seed)  # the GAN reseeds the process; the network starts from the same seed either way
    y_bal = np.array([index_of[c] for c in names_bal])
    log(f"balance {cfg.balance}: {balance_report['counts_before']} -> {balance_report['counts_after']}")

    # 4. model, with early stopping on the validation split
    network = build(cfg.architecture, X_train.shape[1], len(families), cfg.learning_rate)
    fit_started = time.perf_counter()
    history = network.fit(
        X_bal, y_bal,
        validation_data=(X_val, y_val),
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        shuffle=True,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True)],
        verbose=2,
    ).history  # fmt: skip
    fit_seconds = time.perf_counter() - fit_started
    model = network if cfg.task != "binary" else summed_into(network, to_output, len(classes))

    # 5. evaluation: validation (for model choice) and test (reported, never used to choose)
    def scores(X, y):
        return evaluate(to_output[y], model.predict(X, batch_size=4096, verbose=0).argmax(axis=1), classes, normal)

    metrics = {"validation": scores(X_val, y_val), "test": scores(X_test, y_test)}
    metrics["extra_tests"] = {name: scores(*encoded(part)) for name, part in splits.extra_tests.items()}
    log(f"test accuracy {metrics['test']['accuracy']:.4f}, macro-F1 {metrics['test']['f1_macro']:.4f}")
    if cfg.run_baseline:
        held_out = {"validation": (X_val, y_val), "test": (X_test, y_test)} | {n: encoded(p) for n, p in splits.extra_tests.items()}
        metrics["baseline"] = baseline.run(
            X_train, to_output[y_train], {n: (X, to_output[y]) for n, (X, y) in held_out.items()}, classes, normal, cfg.seed
        )

    # 6. export to ONNX and check it against Keras on held-out rows
    out = Path(cfg.out_dir) / cfg.model_id
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "model.onnx"
    export_onnx(model, X_train.shape[1], onnx_path)
    model.save(out / "model.keras")  # for the Keras-serving baseline in bench/; the service reads only the ONNX file
    held_out = np.concatenate([X_test, X_val])[: max(PARITY_MIN_ROWS, 2000)]
    parity = check_parity(model, onnx_path, held_out)
    log(f"ONNX parity: max |difference| {parity:.2e} on {len(held_out)} held-out rows")

    # 7. metadata, metrics and plots
    test_frame, test_classes = splits.test.features, splits.test.labels.map(output_of)
    examples = {
        c: {k: _plain(v) for k, v in test_frame[(test_classes == c).to_numpy()].iloc[0].items()}
        for c in classes
        if (test_classes == c).any()
    }
    meta = ModelMetadata(
        model_id=cfg.model_id,
        dataset=cfg.dataset,
        task=cfg.task,
        architecture=cfg.architecture,
        features=encoder.features,
        ignored_columns=[c for c in spec.columns if c not in spec.features],
        encoded_features=encoder.encoded_features,
        classes=classes,
        normal_class=normal,
        balancing=balance_report,
        training={
            **splits.description,
            "trained_on_classes": families,
            "output": "softmax over the classes" if cfg.task != "binary" else "attack = sum of the attack families' probabilities",
            "epochs_run": len(history["loss"]),
            "batch_size": cfg.batch_size,
        },
        examples=examples,
        onnx=OnnxModelInfo(
            sha256=sha256_of(onnx_path), input_name=INPUT_NAME, input_width=X_train.shape[1], output_name=OUTPUT_NAME, opset=OPSET
        ),
    )
    # The service's numpy transform must reproduce the trainer's encoding exactly.
    drift = float(np.abs(Preprocessor(meta).transform(test_frame.head(1000).to_dict("records")) - encoder.transform(test_frame.head(1000))).max())
    if drift > 1e-6:
        raise RuntimeError(f"numpy preprocessing differs from the trainer's by {drift}")

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
    (out / "metadata.json").write_text(meta.model_dump_json(indent=2))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    plots.confusion_matrix_png(metrics["test"], f"{cfg.model_id} on {splits.test.source}", out / "confusion_matrix.png")
    plots.history_png(history, cfg.model_id, out / "training_history.png")
    plots.bar_chart_png(
        {"before balancing": balance_report["counts_before"], "after balancing": balance_report["counts_after"]},
        f"{cfg.model_id}: training rows per class ({cfg.balance})",
        out / "class_balance.png",
    )
    update_index(Path(cfg.out_dir))
    write_summary(Path(cfg.out_dir))
    log(f"wrote {out} in {time.perf_counter() - started:.0f}s, peak RSS {peak_rss_mb():.0f} MB")
    return metrics
