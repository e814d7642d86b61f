"""Scores of a held-out split: the difficulty-weighted macro-F1, the validation score cells are chosen by, and the
script that added the weighted score to models trained before the trainer wrote it, and the script comparing verdict
rules on models' rebuilt splits."""

import csv
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from trainer.artifacts import choose, selection_key
from trainer.config import DIFFICULTY_WEIGHTED
from trainer.datasets import DataError
from trainer.evaluate import difficulty_weighted_f1


def test_a_mistake_on_a_hard_record_costs_more_than_one_on_an_easy_record():
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    difficulty = np.array([21, 21, 21, 0, 21, 21, 21, 0])
    wrong_on_easy, wrong_on_hard = y_true.copy(), y_true.copy()
    wrong_on_easy[0] = 1  # a record all 21 learners got right
    wrong_on_hard[3] = 1  # a record none of them got right
    plain = [f1_score(y_true, p, average="macro") for p in (wrong_on_easy, wrong_on_hard)]
    weighted = [difficulty_weighted_f1(y_true, p, 2, difficulty) for p in (wrong_on_easy, wrong_on_hard)]
    assert plain[0] == plain[1]  # unweighted, the two mistakes cost the same
    assert weighted[1] < weighted[0] < 1.0
    assert difficulty_weighted_f1(y_true, y_true, 2, difficulty) == 1.0
    # Each record counts 1 / (1 + difficulty): the same as sklearn's weighted F1 with those weights.
    expected = f1_score(y_true, wrong_on_hard, average="macro", sample_weight=1 / (1 + difficulty))
    assert weighted[1] == pytest.approx(expected)


def _candidate(seed: int, f1: float, weighted: float | None) -> dict:
    validation = {"f1_macro": f1} | ({DIFFICULTY_WEIGHTED: weighted} if weighted is not None else {})
    return {"validation": validation, "cell": {"seed": seed, "balancing": "smote", "architecture": "cnn"}}


def test_models_are_chosen_by_the_weighted_score_only_when_every_candidate_has_it():
    rated = [_candidate(0, 0.90, 0.60), _candidate(1, 0.80, 0.70)]
    assert selection_key(rated) == DIFFICULTY_WEIGHTED and choose(rated)["cell"]["seed"] == 1
    mixed = [_candidate(0, 0.90, None), _candidate(1, 0.80, 0.70)]
    assert selection_key(mixed) == "f1_macro" and choose(mixed)["cell"]["seed"] == 0


# scripts/ is no package: the script is loaded from its file.
_spec = importlib.util.spec_from_file_location(
    "add_difficulty_scores", Path(__file__).resolve().parents[2] / "scripts" / "add_difficulty_scores.py"
)
add_difficulty_scores = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(add_difficulty_scores)


def _copy_model(shipped: Path, folder: Path) -> Path:
    shutil.copytree(shipped, folder)
    return folder


def test_the_backfill_scores_a_shipped_model_and_refuses_one_whose_predictions_changed(tmp_path, artifacts_dir, data_dir):
    folder = _copy_model(artifacts_dir / "nsl-kdd-binary-cnn", tmp_path / "model")
    written = json.loads((folder / "metrics.json").read_text())  # the trainer wrote the score: taken out, then backfilled
    unscored = json.loads(json.dumps(written))
    for split in [unscored["validation"], unscored["test"], *unscored["extra_tests"].values()]:
        del split[DIFFICULTY_WEIGHTED]
    (folder / "metrics.json").write_text(json.dumps(unscored))
    assert "validation" in add_difficulty_scores.add_scores(folder, data_dir, force=False)
    metrics = json.loads((folder / "metrics.json").read_text())
    splits = [metrics["validation"], metrics["test"], *metrics["extra_tests"].values()]
    trainers = [written["validation"], written["test"], *written["extra_tests"].values()]
    for backfilled, trainer in zip(splits, trainers, strict=True):  # the same score the trainer writes
        assert backfilled[DIFFICULTY_WEIGHTED] == pytest.approx(trainer[DIFFICULTY_WEIGHTED], abs=1e-3)
    assert all(0 < s[DIFFICULTY_WEIGHTED] < s["f1_macro"] for s in splits[1:])  # KDDTest+'s errors sit on hard records
    assert "kept" in add_difficulty_scores.add_scores(folder, data_dir, force=False)

    metrics["test"]["f1_macro"] -= 0.01  # the recorded scores no longer describe this graph's predictions
    (folder / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(DataError, match="test macro-F1 recomputed"):
        add_difficulty_scores.add_scores(folder, data_dir, force=True)
    other = _copy_model(artifacts_dir / "nf-bot-iot-v2-multiclass-cnn", tmp_path / "other")
    assert "rates no records, skipped" in add_difficulty_scores.add_scores(other, data_dir, force=False)


_spec = importlib.util.spec_from_file_location(
    "compare_verdict_rules", Path(__file__).resolve().parents[2] / "scripts" / "compare_verdict_rules.py"
)
compare_verdict_rules = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_verdict_rules)


def test_the_verdict_rules_page_scores_both_rules_on_the_models_own_splits(tmp_path, artifacts_dir, data_dir):
    shipped = artifacts_dir / "nsl-kdd-multiclass-cnn"
    skipped = artifacts_dir / "nf-bot-iot-v2-multiclass-cnn"  # no difficulty rating, no held-out subtypes: not compared
    argv = [str(shipped), str(skipped), "--data-dir", str(data_dir), "--out", str(tmp_path)]
    assert compare_verdict_rules.main(argv) == 0
    (row,) = list(csv.DictReader((tmp_path / "results.csv").open()))
    metrics = json.loads((shipped / "metrics.json").read_text())
    assert (row["model"], row["task"], row["validation"]) == ("nsl-kdd-multiclass-cnn", "multiclass", "random")
    for split in ("validation", "test"):  # the model's own rule (most probable) reproduces its recorded scores
        assert float(row[f"{split} f1_macro (most probable)"]) == pytest.approx(metrics[split]["f1_macro"], abs=1e-3)
        # Under the other rule every alert is an attack: normal against attack as the trainer's alert counts say.
        found, support = metrics[split]["alerts"], metrics[split]["per_class"]
        normal = support["normal"]["support"]
        attack = sum(c["support"] for name, c in support.items() if name != "normal")
        expected = ((1 - found["normal_alerted"]) * normal + found["attack_caught"] * attack) / (normal + attack)
        assert float(row[f"{split} binary_accuracy (unknown is attack)"]) == pytest.approx(expected, abs=1e-3)
    page = (tmp_path / "README.md").read_text()
    assert "| multiclass | random | 1 | binary_accuracy |" in page and "chose nothing" in page


def test_an_experiment_folder_stands_for_its_cells_whose_models_are_kept(tmp_path, artifacts_dir):
    kept, gone = tmp_path / "cells" / "kept", tmp_path / "cells" / "gone"
    shutil.copytree(artifacts_dir / "nsl-kdd-binary-cnn", kept / "run" / "nsl-kdd-binary-cnn")
    gone.mkdir()  # a cell whose model files were not kept (they are not in git)
    other = artifacts_dir / "nsl-kdd-multiclass-cnn"
    assert compare_verdict_rules.model_folders([tmp_path, other]) == [kept, other]


def test_the_verdict_rules_page_refuses_folders_without_a_comparable_model(tmp_path, artifacts_dir, data_dir, capsys):
    argv = [str(artifacts_dir / "nf-bot-iot-v2-multiclass-cnn"), "--data-dir", str(data_dir), "--out", str(tmp_path)]
    assert compare_verdict_rules.main(argv) == 1
    assert "no nsl-kdd model with a novelty detector" in capsys.readouterr().err and not any(tmp_path.iterdir())
