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
from preprocess.verdict import called_classes
from trainer import baseline, plots
from trainer.artifacts import update_index
from trainer.config import DIFFICULTY_WEIGHTED, TrainConfig
from trainer.evaluate import alerts, difficulty_weighted_f1, evaluate
from trainer.export import OPSET, PARITY_MIN_ROWS, check_parity, keras_graph, keras_outputs, sha256_of, write_onnx
from trainer.forest import FittedForest, fit_forest
from trainer.losses import loss_for
from trainer.models import INPUT_NAME, OUTPUT_NAME, build, summed_into
from trainer.novelty import FittedNovelty, fit_novelty, served_graph
from trainer.pipeline import PREDICT_BATCH
from trainer.prepare import Encoded, balance_training, classes_of, encode, load_splits
from trainer.profile import background_rows, training_profile
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
    log(
        f"{cfg.model_id}: rows {splits.description['rows']}, trained on classes {classes.families},"
        f" output classes {classes.output}"
    )
    data = encode(cfg, splits, classes)  # fitted on the training split only
    X_bal, y_bal, balance_report = balance_training(cfg, data)
    log(f"balance {cfg.balance}: {balance_report['counts_before']} -> {balance_report['counts_after']}")
    members, histories, fit_seconds = [], [], 0.0
    for seed in member_seeds(cfg):
        keras.utils.set_random_seed(seed)  # the GAN reseeds the process; each network starts from its own seed either way
        member, member_history, seconds = fit(cfg, data, X_bal, y_bal)
        members.append(member)
        histories.append(member_history)
        fit_seconds += seconds
    history = histories[0]  # the plots and epoch count follow the first network
    model, novelty = assemble(cfg, data, members)
    outputs = predict_held_out(data, model)
    forest = blend_forest(cfg, data, outputs) if cfg.forest_trees else None
    if forest:
        outputs = {name: [forest.blend(p, data.held_out[name][0]), *rest] for name, (p, *rest) in outputs.items()}
    metrics = evaluate_all(cfg, data, outputs, novelty)
    out = Path(cfg.out_dir) / cfg.model_id
    parity = export(model, data, outputs, out, forest)
    meta = metadata(cfg, data, balance_report, histories, out / "model.onnx", novelty, forest)
    metrics.update(
        model_id=cfg.model_id,
        command=shlex.join(["python", "-m", "trainer", *sys.argv[1:]]),
        config={k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items() if k != "files"},
        split=splits.description,
        balancing=balance_report,
        onnx_parity=parity,
        training={
            "fit_seconds": round(fit_seconds, 1),
            "total_seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "epochs_run": len(history["loss"]),
            "early_stopping_rows": len(stopping_rows(data)[1]),
            "history": {k: [round(float(v), 5) for v in vals] for k, vals in history.items()},
        }
        | ({"members": meta.training["members"]} if len(members) > 1 else {}),
    )
    if novelty:
        metrics["novelty"] = novelty.report()
    if forest:
        metrics["forest"] = forest.report()
    write(cfg, out, meta, metrics, history, splits.test.source)
    log(f"wrote {out} in {time.perf_counter() - started:.0f}s, peak RSS {peak_rss_mb():.0f} MB")
    return metrics


def member_seeds(cfg: TrainConfig) -> list[int]:
    return list(range(cfg.seed, cfg.seed + cfg.ensemble_seeds))


def stopping_rows(data: Encoded) -> tuple[np.ndarray, np.ndarray]:
    """The validation rows early stopping watches: those of subtypes the network trains on. Held-out subtypes (the
    `subtypes` validation) cannot be learnt, so their loss only grows with training and would stop it after an epoch;
    they still score the finished model."""
    X, y = data.validation
    trained = np.isin(data.subtypes("validation"), data.splits.train.subtypes.unique())
    return X[trained], y[trained]


def fit(cfg: TrainConfig, data: Encoded, X_bal: np.ndarray, y_bal: np.ndarray) -> tuple[keras.Model, dict, float]:
    """Train with early stopping on the validation rows of trained subtypes; a binary model sums its families'
    outputs into its classes."""
    n_families = len(data.classes.families)
    loss, weights = loss_for(cfg.loss, y_bal, n_families, cfg.focal_gamma, cfg.logit_tau)
    network = build(cfg.architecture, X_bal.shape[1], n_families, cfg.learning_rate, loss)
    fit_started = time.perf_counter()
    history = network.fit(
        X_bal,
        y_bal,
        sample_weight=weights,
        validation_data=stopping_rows(data),
        validation_batch_size=PREDICT_BATCH,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        shuffle=True,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True)],
        verbose=2,
    ).history
    fit_seconds = time.perf_counter() - fit_started
    classes = data.classes
    model = network if cfg.task != "binary" else summed_into(network, classes.to_output, len(classes.output))
    return model, history, fit_seconds


def assemble(cfg: TrainConfig, data: Encoded, members: list[keras.Model]) -> tuple[keras.Model, FittedNovelty | None]:
    """The served graph: the members' mean probabilities and, unless --novelty none, the detector's score, its
    constants fitted on the real training rows and its threshold on the normal validation records."""
    if cfg.novelty == "none":
        return served_graph(members), None
    novelty = fit_novelty(cfg.novelty, members, data, cfg.novelty_budget, cfg.alert_budget, cfg.unknown_is_attack)
    log(
        f"novelty {cfg.novelty}: threshold {novelty.threshold.value:.4g} flags {novelty.threshold.normal_flagged:.2%} of normal"
        f" validation records (budget: {novelty.budget:.2%} {novelty.budget_of})"
    )
    return novelty.model, novelty


def blend_forest(cfg: TrainConfig, data: Encoded, outputs: dict[str, list[np.ndarray]]) -> FittedForest:
    """The random forest served beside the network(s), its share chosen on the network's validation probabilities."""
    forest = fit_forest(cfg.forest_trees, cfg.seed, data, outputs["validation"][0])
    log(f"{forest.describe()}: validation macro-F1 by network share {forest.report()['validation_f1_macro_by_network_share']}")
    return forest


def predict_held_out(data: Encoded, model: keras.Model) -> dict[str, list[np.ndarray]]:
    """The model's outputs (probabilities, then the novelty score if any) on every held-out split, computed once:
    evaluation and the ONNX parity check share them."""
    return {name: keras_outputs(model, X) for name, (X, _) in data.held_out.items()}


def evaluate_all(
    cfg: TrainConfig, data: Encoded, outputs: dict[str, list[np.ndarray]], novelty: FittedNovelty | None = None
) -> dict:
    """Validation (for model choice) and test (reported, never used to choose), and the baselines' on the same rows,
    each record scored as the service will call it (preprocess/verdict.py). Every split also reports alerts: called
    attack or flagged unknown, overall and per attack type absent from training."""
    classes, to_output = data.classes, data.classes.to_output
    normal, unseen = classes.output.index(classes.normal), set(data.splits.train.subtypes)

    def scores(name):
        y = data.held_out[name][1]
        probabilities, *score = outputs[name]
        unknown = score[0].reshape(len(y)) > novelty.threshold.value if novelty else None
        predicted = called_classes(probabilities, normal, unknown, cfg.unknown_is_attack)
        result = evaluate(to_output[y], predicted, classes.output, classes.normal)
        if (difficulty := data.difficulty(name)) is not None:
            result[DIFFICULTY_WEIGHTED] = difficulty_weighted_f1(to_output[y], predicted, len(classes.output), difficulty)
        subtypes = data.subtypes(name)
        # The classifier's own calls: "called attack" then says what the detector adds (the alerts are the same either way).
        result["alerts"] = alerts(to_output[y], probabilities.argmax(axis=1), unknown, normal, subtypes, set(subtypes) - unseen)
        return result

    metrics = {"validation": scores("validation"), "test": scores("test")}
    metrics["extra_tests"] = {name: scores(name) for name in data.extra_tests}
    test_alerts = metrics["test"]["alerts"]
    log(
        f"test accuracy {metrics['test']['accuracy']:.4f}, macro-F1 {metrics['test']['f1_macro']:.4f}; normal alerted"
        f" {test_alerts['normal_alerted']:.2%}, unseen attacks caught {test_alerts.get('unseen_attacks', {}).get('caught')}"
    )
    if cfg.run_baseline:
        X_train, y_train = data.train
        held_out = {n: (X, to_output[y]) for n, (X, y) in data.held_out.items()}
        metrics["baselines"] = baseline.run(X_train, to_output[y_train], held_out, classes.output, classes.normal, cfg.seed)
    return metrics


def export(
    model: keras.Model, data: Encoded, outputs: dict[str, list[np.ndarray]], out: Path, forest: FittedForest | None
) -> dict[str, float]:
    """Write model.onnx (and model.keras, the network alone, for the Keras-serving baseline in bench/; the service reads
    only the ONNX file) and return, per output, the largest difference between ONNX and the trainer's own outputs on
    held-out rows (Keras', blended with the forest's where there is one; already computed)."""
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "model.onnx"
    graph = keras_graph(model, data.train[0].shape[1])
    write_onnx(forest.joined(graph) if forest else graph, onnx_path)
    model.save(out / "model.keras")
    rows = max(PARITY_MIN_ROWS, 2000)
    held_out = np.concatenate([data.test[0], data.validation[0]])[:rows]
    expected = [np.concatenate(pair)[:rows] for pair in zip(outputs["test"], outputs["validation"], strict=True)]
    parity = check_parity(expected, onnx_path, held_out)
    log(f"ONNX parity on {len(held_out)} held-out rows: " + ", ".join(f"{name} {worst:.2e}" for name, worst in parity.items()))
    return parity


def metadata(
    cfg: TrainConfig,
    data: Encoded,
    balance_report: dict,
    histories: list[dict],
    onnx_path: Path,
    novelty: FittedNovelty | None,
    forest: FittedForest | None,
) -> ModelMetadata:
    """What the service needs to serve the model, checked: its numpy transform must reproduce the trainer's encoding."""
    spec, classes, splits, encoder = cfg.spec, data.classes, data.splits, data.encoder
    test_frame, test_classes = splits.test.features, splits.test.labels.map(classes.output_of)
    examples = {
        c: {k: _plain(v) for k, v in test_frame[(test_classes == c).to_numpy()].iloc[0].items()}
        for c in classes.output
        if (test_classes == c).any()
    }
    train_features = splits.train.features[[f.name for f in encoder.features]]  # real rows, before balancing
    meta = ModelMetadata(
        model_id=cfg.model_id,
        dataset=cfg.dataset,
        task=cfg.task,
        architecture=(cfg.architecture if len(histories) == 1 else f"{cfg.architecture} x{len(histories)}")
        + (f" + {forest.describe()}" if forest else ""),
        features=encoder.features,
        ignored_columns=[c for c in spec.columns if c not in spec.features] + encoder.constant,
        encoded_features=encoder.encoded_features,
        classes=classes.output,
        normal_class=classes.normal,
        balancing=balance_report,
        training={
            **splits.description,
            "trained_on_classes": classes.families,
            "output": "softmax over the classes"
            if cfg.task != "binary"
            else "attack = sum of the attack families' probabilities",
            "epochs_run": len(histories[0]["loss"]),
            "batch_size": cfg.batch_size,
            "loss": cfg.loss,
            "scaling": cfg.scaling,
            "validation": splits.description["validation"]["kind"],
        }
        | ({"members": members(cfg, histories)} if len(histories) > 1 else {})
        | ({"forest": forest.report()} if forest else {}),
        examples=examples,
        onnx=OnnxModelInfo(
            sha256=sha256_of(onnx_path),
            input_name=INPUT_NAME,
            input_width=data.train[0].shape[1],
            output_name=OUTPUT_NAME,
            opset=OPSET,
        ),
        novelty=novelty.info() if novelty else None,
        training_profile=training_profile(train_features, encoder.features),
        background=background_rows(train_features, seed=cfg.seed),
    )
    drift = float(
        np.abs(
            Preprocessor(meta).transform(test_frame.head(1000).to_dict("records")) - encoder.transform(test_frame.head(1000))
        ).max()
    )
    if drift > 1e-6:
        raise RuntimeError(f"numpy preprocessing differs from the trainer's by {drift}")
    return meta


def members(cfg: TrainConfig, histories: list[dict]) -> list[dict]:
    """An ensemble's networks: each one's seed, epochs and best validation loss (the weights it kept)."""
    return [
        {"architecture": cfg.architecture, "seed": seed, "epochs_run": len(h["loss"]), "best_val_loss": min(h["val_loss"])}
        for seed, h in zip(member_seeds(cfg), histories, strict=True)
    ]


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
