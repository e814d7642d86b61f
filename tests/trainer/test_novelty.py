"""Unseen-attack detectors: fitted on training rows, thresholded on validation, exported as the graph's second output
and served by the inference core; seed ensembles served as one graph. Real NSL-KDD rows, one epoch."""

import dataclasses
import json

import keras
import numpy as np
import onnxruntime as ort
import pytest

from inference import Model, load_model
from preprocess import load_metadata
from preprocess.defaults import NOVELTY_METHODS
from trainer.__main__ import main, parser
from trainer.config import TrainConfig
from trainer.evaluate import alerts
from trainer.export import NOVELTY_OUTPUT, PARITY_TOLERANCE, check_parity, keras_outputs
from trainer.models import INPUT_NAME, OUTPUT_NAME
from trainer.novelty import METHOD_TEXT, alert_threshold, fit_novelty, threshold_for
from trainer.prepare import balance_training, classes_of, encode, load_splits
from trainer.train import assemble, fit, run

QUICK = {"dataset": "nsl-kdd", "architecture": "cnn", "balance": "smote", "epochs": 1, "limit_rows": 3000, "run_baseline": False}


@pytest.fixture(scope="module")
def fitted(data_dir):
    """The encoded splits and one network fitted on them, as `trainer.train.run` makes them."""
    cfg = TrainConfig(task="multiclass", data_dir=data_dir, **QUICK)
    keras.utils.set_random_seed(cfg.seed)
    splits = load_splits(cfg)
    data = encode(cfg, splits, classes_of(cfg, splits))
    X_bal, y_bal, _ = balance_training(cfg, data)
    network, _, _ = fit(cfg, data, X_bal, y_bal)
    return cfg, data, network


@pytest.fixture(scope="module")
def single_run(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("novelty")
    cfg = TrainConfig(task="multiclass", data_dir=data_dir, out_dir=out, **QUICK)
    return cfg, run(cfg), out / cfg.model_id


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory, data_dir):
    """A binary model of two networks with the energy detector, which decides (a record it flags unknown is called an
    attack): the summed output, the ensemble and the verdict rule together."""
    out = tmp_path_factory.mktemp("ensemble")
    options = {"novelty": "energy", "ensemble_seeds": 2, "unknown_is_attack": True}
    cfg = TrainConfig(task="binary", data_dir=data_dir, out_dir=out, **options, **QUICK)
    return cfg, run(cfg), out / cfg.model_id


def served_outputs(folder, X: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    return session.run([OUTPUT_NAME, NOVELTY_OUTPUT], {INPUT_NAME: X.astype(np.float32)})


def test_threshold_flags_at_most_the_budget_of_normal_records():
    scores = np.random.default_rng(0).gamma(2.0, 10.0, size=1001)
    for budget in (0.001, 0.02, 0.1):
        threshold = threshold_for(scores, budget)
        flagged = (scores > threshold.value).mean()
        assert flagged == threshold.normal_flagged <= budget
        assert flagged > budget - 2 / len(scores)  # and uses the budget, not a threshold far above every score


def test_threshold_with_ties_never_exceeds_the_budget():
    scores = np.array([1.0] * 90 + [5.0] * 10)
    threshold = threshold_for(scores, 0.05)  # five may be flagged, but the ten tied top scores go together or not at all
    assert threshold.normal_flagged == 0.0 and threshold.value >= 5.0


def test_threshold_with_no_room_sits_above_every_score():
    threshold = threshold_for(np.array([3.0, 7.0, 2.0]), 0.02)
    assert threshold.value > 7.0 * (1 + PARITY_TOLERANCE) and threshold.normal_flagged == 0.0


def test_alert_threshold_leaves_the_detector_what_the_classifiers_false_alarms_do_not_use():
    scores = np.arange(100, dtype=np.float64)  # 100 normal records
    called_attack = np.zeros(100, dtype=bool)
    called_attack[[10, 20, 99]] = True  # three false alarms already: the detector may flag two more of a budget of five

    threshold = alert_threshold(scores, called_attack, 0.05)

    flagged = scores > threshold.value
    assert (flagged & ~called_attack).sum() == 2  # the two highest among those called normal: 97 and 98
    assert (flagged | called_attack).mean() == 0.05
    assert threshold.normal_flagged == 0.03  # 99 scores above it too: flagged, though its alert was counted once
    none_left = alert_threshold(scores, called_attack, 0.02)  # two allowed, three used: nothing flagged
    assert not (scores[~called_attack] > none_left.value).any()  # no alert added to the three
    all_called = alert_threshold(scores, np.ones(100, dtype=bool), 0.05)  # an untrained classifier calls every one attack
    assert not (scores > all_called.value).any() and all_called.normal_flagged == 0.0


def test_an_alert_budget_bounds_normal_validation_alerts_and_is_recorded(fitted):
    cfg, data, network = fitted
    X_val, y_val = data.validation
    normal_index = data.classes.output.index(data.classes.normal)
    normal = data.classes.to_output[y_val] == normal_index
    false_alarms = (keras_outputs(network, X_val)[0].argmax(axis=1) != normal_index)[normal].mean()
    budget = round(false_alarms + 0.03, 4)  # room for the detector beyond the small test network's false alarms

    novelty = fit_novelty("input-mahalanobis", [network], data, cfg.novelty_budget, alert_budget=budget)

    probabilities, scores = keras_outputs(novelty.model, X_val)
    flagged = scores.reshape(-1) > novelty.threshold.value
    alerted = (probabilities.argmax(axis=1) != normal_index) | flagged
    assert budget - 2 / normal.sum() < alerted[normal].mean() <= budget  # the budget is used, never exceeded
    assert (novelty.budget, novelty.budget_of, novelty.info().budget_of) == (budget, "alerted", "alerted")


def test_alerts_count_attack_calls_and_unknown_flags():
    normal = 0
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 0, 0, 1, 0, 0, 0])
    unknown = np.array([False, False, True, False, False, True, False, True])
    subtypes = np.array(["normal"] * 4 + ["neptune", "apache2", "apache2", "mscan"])
    report = alerts(y_true, y_pred, unknown, normal, subtypes, {"apache2", "mscan"})
    assert report["normal_flagged_unknown"] == 0.25
    assert report["normal_alerted"] == 0.5  # one called attack, one flagged unknown
    assert report["attack_caught"] == 0.75 and report["attack_called_attack"] == 0.25
    assert report["unseen_attacks"] == {"rows": 3, "caught": 2 / 3, "called_attack": 0.0}
    assert report["unseen_attack_types"]["apache2"] == {"rows": 2, "caught": 0.5, "called_attack": 0.0}
    without = alerts(y_true, y_pred, None, normal, subtypes, set())
    assert without["normal_flagged_unknown"] is None and without["attack_caught"] == 0.25 and "unseen_attacks" not in without


@pytest.mark.parametrize("method", ["mahalanobis", "energy", "input-mahalanobis"])
def test_threshold_is_set_on_normal_validation_records_only(fitted, method):
    cfg, data, network = fitted
    novelty = fit_novelty(method, [network], data, cfg.novelty_budget)
    X_val, y_val = data.validation
    scores = keras_outputs(novelty.model, X_val)[1].reshape(-1)
    normal = data.classes.to_output[y_val] == data.classes.output.index(data.classes.normal)
    assert (scores[normal] > novelty.threshold.value).mean() == pytest.approx(novelty.threshold.normal_flagged)
    assert novelty.threshold.normal_flagged <= cfg.novelty_budget
    shuffled_test = (data.test[0][::-1] * 0.5, data.test[1][::-1])
    again = fit_novelty(method, [network], dataclasses.replace(data, test=shuffled_test, extra_tests={}), cfg.novelty_budget)
    assert again.threshold == novelty.threshold
    assert set(novelty.candidates) == {"mahalanobis", "energy", "input-mahalanobis"}


def test_no_detector_serves_the_network_alone(fitted):
    cfg, data, network = fitted
    model, novelty = assemble(dataclasses.replace(cfg, novelty="none"), data, [network])
    assert model is network and novelty is None


def test_detector_export_matches_keras_on_both_outputs(fitted, tmp_path):
    from trainer.export import export_onnx

    cfg, data, network = fitted
    novelty = fit_novelty("mahalanobis", [network], data, cfg.novelty_budget)
    path = tmp_path / "model.onnx"
    export_onnx(novelty.model, data.train[0].shape[1], path)
    X = np.concatenate([data.test[0], data.validation[0]])[:2000]
    parity = check_parity(keras_outputs(novelty.model, X), path, X)
    assert set(parity) == {OUTPUT_NAME, NOVELTY_OUTPUT} and max(parity.values()) <= PARITY_TOLERANCE
    probabilities, scores = served_outputs(tmp_path, X)
    reference = keras_outputs(novelty.model, X)
    assert np.abs(probabilities - reference[0]).max() <= PARITY_TOLERANCE
    assert (np.abs(scores - reference[1]) / np.maximum(1.0, np.abs(reference[1]))).max() <= PARITY_TOLERANCE


def test_run_writes_novelty_metadata_and_alerts_on_every_split(single_run):
    cfg, metrics, folder = single_run
    meta = load_metadata(folder / "metadata.json")
    assert meta.novelty.output_name == NOVELTY_OUTPUT and meta.novelty.method.startswith(f"{NOVELTY_METHODS[0]}:")
    assert meta.novelty.budget == cfg.novelty_budget and meta.novelty.validation_normal_flagged <= cfg.novelty_budget
    assert metrics["novelty"]["threshold"] == meta.novelty.threshold
    assert max(metrics["onnx_parity"].values()) <= PARITY_TOLERANCE
    for split in [metrics["validation"], metrics["test"], *metrics["extra_tests"].values()]:
        found = split["alerts"]
        assert found["attack_caught"] >= found["attack_called_attack"]
        assert found["normal_alerted"] >= found["normal_flagged_unknown"]
    assert metrics["validation"]["alerts"]["normal_flagged_unknown"] == pytest.approx(meta.novelty.validation_normal_flagged)
    unseen = metrics["test"]["alerts"]["unseen_attack_types"]
    assert {"apache2", "mscan", "processtable"} <= set(unseen)  # KDDTest+ attacks that KDDTrain+ never holds
    assert "neptune" not in unseen
    assert sum(t["rows"] for t in unseen.values()) == metrics["test"]["alerts"]["unseen_attacks"]["rows"]
    summary = (folder.parent / "README.md").read_text()
    assert "unseen attacks caught" in summary and "apache2" in summary


def test_served_answers_carry_the_novelty_field(single_run):
    _, _, folder = single_run
    model = load_model(folder)
    records = list(model.meta.examples.values())
    answers = model.predict_records(records).answers()
    scores = served_outputs(folder, model.preprocessor.transform(records))[1]
    for answer, score in zip(answers, scores.reshape(-1).tolist(), strict=True):
        assert set(answer["novelty"]) == {"score", "threshold", "unknown"}
        assert answer["novelty"]["threshold"] == model.meta.novelty.threshold
        assert answer["novelty"]["score"] == pytest.approx(score)
        assert answer["novelty"]["unknown"] == (score > model.meta.novelty.threshold)


def test_ensemble_is_one_graph_of_its_members_mean(ensemble_run):
    _, metrics, folder = ensemble_run
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["architecture"] == "cnn x2" and meta["classes"] == ["normal", "attack"]
    assert [m["seed"] for m in meta["training"]["members"]] == [0, 1]
    assert meta["novelty"]["method"].startswith("energy") and meta["novelty"]["method"].endswith("the mean of 2 networks' scores")
    assert max(metrics["onnx_parity"].values()) <= PARITY_TOLERANCE
    model = keras.saving.load_model(folder / "model.keras")
    members = [layer for layer in model.layers if layer.name.startswith("member_")]
    assert len(members) == 2
    X = np.random.default_rng(0).uniform(size=(64, model.input.shape[1])).astype(np.float32)
    probabilities = np.mean([member.predict(X, verbose=0)[0] for member in members], axis=0)
    served = served_outputs(folder, X)
    assert np.abs(served[0] - probabilities).max() <= PARITY_TOLERANCE
    assert np.allclose(served[0].sum(axis=1), 1.0, atol=1e-5)


def test_a_model_whose_detector_decides_is_scored_and_served_calling_every_alert_an_attack(ensemble_run):
    _, metrics, folder = ensemble_run
    model = load_model(folder)
    assert model.meta.novelty.unknown_is_attack and metrics["novelty"]["unknown_is_attack"]
    for split in [metrics["validation"], metrics["test"], *metrics["extra_tests"].values()]:
        found, recall = split["alerts"], split["per_class"]
        assert recall["normal"]["recall"] == pytest.approx(1 - found["normal_alerted"])
        assert recall["attack"]["recall"] == pytest.approx(found["attack_caught"])
    assert metrics["validation"]["alerts"]["normal_flagged_unknown"] > 0  # normal records the rule calls attacks
    # Served: with the threshold below every score, training rows the classifier calls normal are all called attacks.
    rows = model.preprocessor.transform(model.meta.background)
    scores = model.predict_encoded(rows).novelty_score
    novelty = model.meta.novelty.model_copy(update={"threshold": float(scores.min()) - 1})
    predictions = Model(model.meta.model_copy(update={"novelty": novelty}), model.session).predict_encoded(rows)
    assert (predictions.probabilities[:, 0] > 0.5).any() and predictions.unknown.all() and predictions.is_attack.all()


def test_the_verdict_rule_needs_a_detector(tmp_path, data_dir, capsys):
    command = ["train", "--dataset", "nsl-kdd", "--novelty", "none", "--unknown-is-attack", "--data-dir", str(data_dir)]
    assert main([*command, "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "trainer: error: --unknown-is-attack needs a novelty detector, not --novelty none\n"
    assert not any(tmp_path.iterdir())


def test_every_detector_choice_has_a_detector():
    assert set(METHOD_TEXT) == set(NOVELTY_METHODS) - {"none"}


def test_cli_novelty_options(tmp_path):
    options = ["--novelty", "none", "--novelty-budget", "0.05", "--alert-budget", "0.04", "--ensemble-seeds", "3"]
    args = parser().parse_args(["train", "--dataset", "nsl-kdd", *options])
    assert (args.novelty, args.novelty_budget, args.alert_budget, args.ensemble_seeds) == ("none", 0.05, 0.04, 3)
    for bad in (["--novelty-budget", "1.5"], ["--alert-budget", "0"], ["--ensemble-seeds", "0"], ["--novelty", "magic"]):
        with pytest.raises(SystemExit):
            parser().parse_args(["train", "--dataset", "nsl-kdd", *bad])
