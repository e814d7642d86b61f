"""Predictions of the inference core: the shared answer format, chunked inference, and the novelty score."""

import numpy as np
import pytest

from inference import INFERENCE_ROWS, Model, load_models
from preprocess.metadata import NumericFeature
from preprocess.transform import Preprocessor
from tests.inference.conftest import NOVELTY_MODEL, novelty_scores, tiny_weights


@pytest.fixture(scope="session")
def novelty_model(novelty_artifacts) -> Model:
    return load_models(novelty_artifacts).get(NOVELTY_MODEL)


def _distinct_records(model: Model, count: int) -> list[dict]:
    """`count` different records: the examples in turn, each with its first numeric feature set to its position."""
    examples = list(model.meta.examples.values())
    name = next(f.name for f in model.meta.features if isinstance(f, NumericFeature))
    return [examples[i % len(examples)] | {name: i} for i in range(count)]


def test_answers_are_the_shared_format_and_agree_with_the_arrays(shipped):
    for model in shipped.models.values():
        predictions = model.predict_records(list(model.meta.examples.values()))
        answers = predictions.answers()
        assert len(answers) == len(predictions) == len(model.meta.examples)
        for i, answer in enumerate(answers):
            novelty = {"novelty"} if model.meta.novelty else set()
            assert set(answer) == {"label", "is_attack", "confidence", "probabilities"} | novelty, model.id
            assert list(answer["probabilities"]) == model.meta.classes
            assert answer["label"] == predictions.labels[i] == max(answer["probabilities"], key=answer["probabilities"].get)
            assert answer["confidence"] == answer["probabilities"][answer["label"]] == predictions.confidence[i]
            assert answer["is_attack"] == (answer["label"] != model.meta.normal_class) == predictions.is_attack[i]
        assert predictions.probabilities.dtype == np.float32
        assert (predictions.novelty_score is None) == (model.meta.novelty is None)


def test_records_and_columns_give_the_same_predictions(shipped):
    model = shipped.default_for("nsl-kdd")
    records = _distinct_records(model, 20)
    columns = {f.name: [r[f.name] for r in records] for f in model.meta.features}
    by_columns, by_records = model.predict_columns(columns, len(records)), model.predict_records(records)
    np.testing.assert_array_equal(by_columns.probabilities, by_records.probabilities)


def test_a_batch_run_in_pieces_equals_each_record_alone(shipped):
    for model in shipped.models.values():
        records = _distinct_records(model, 2 * INFERENCE_ROWS + 7)
        batch = model.predict_records(records)
        each = [model.predict_records([r]) for r in records]
        alone = np.concatenate([p.probabilities for p in each])
        np.testing.assert_allclose(batch.probabilities, alone, rtol=0, atol=1e-6, err_msg=model.id)
        np.testing.assert_array_equal(batch.best, alone.argmax(axis=1))
        if model.meta.novelty:  # scored in float64, so a record's score does not depend on its place in a batch
            np.testing.assert_array_equal(batch.novelty_score, np.concatenate([p.novelty_score for p in each]))


def test_no_records_give_no_predictions(shipped):
    """Not passed to onnxruntime, which aborts the process on an empty batch of the LSTM graphs."""
    for model in shipped.models.values():
        predictions = model.predict_records([])
        assert predictions.probabilities.shape == (0, len(model.meta.classes)) and predictions.answers() == []


def test_novelty_score_threshold_and_unknown(novelty_model):
    meta = novelty_model.meta
    records = list(meta.examples.values())
    predictions = novelty_model.predict_records(records)
    expected = novelty_scores(meta, records)
    np.testing.assert_allclose(predictions.novelty_score, expected, rtol=1e-5)
    assert predictions.novelty_threshold == meta.novelty.threshold
    np.testing.assert_array_equal(predictions.unknown, expected > meta.novelty.threshold)
    assert predictions.unknown.sum() == len(records) - 2  # the threshold lies between the second and third lowest
    logits = Preprocessor(meta).transform(records) @ tiny_weights(meta.onnx.input_width, len(meta.classes))
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(predictions.probabilities, softmax / softmax.sum(axis=1, keepdims=True), atol=1e-6)
    for answer, score, unknown in zip(predictions.answers(), predictions.novelty_score, predictions.unknown, strict=True):
        assert answer["novelty"] == {"score": score, "threshold": meta.novelty.threshold, "unknown": unknown}
        assert set(answer) == {"label", "is_attack", "confidence", "probabilities", "novelty"}


def test_a_score_just_above_the_threshold_is_unknown_even_where_float32_rounds_them_equal(novelty_model):
    record = next(iter(novelty_model.meta.examples.values()))
    score = novelty_model.predict_records([record]).novelty_score[0]
    threshold = float(np.nextafter(score, -np.inf))  # below the score in float64, equal to it in float32
    assert np.float32(threshold) == np.float32(score)
    meta = novelty_model.meta
    strict = Model(
        meta.model_copy(update={"novelty": meta.novelty.model_copy(update={"threshold": threshold})}), novelty_model.session
    )
    (answer,) = strict.predict_records([record]).answers()
    assert answer["novelty"]["unknown"] and answer["novelty"]["score"] > answer["novelty"]["threshold"]


class _FixedSession:
    """Stands in for onnxruntime: given probabilities and novelty scores, whatever the rows."""

    def __init__(self, probabilities: np.ndarray, scores: np.ndarray):
        self.outputs = [probabilities.astype(np.float32), scores.astype(np.float32)]

    def run(self, names, feeds):
        return self.outputs


def test_a_model_whose_detector_decides_never_calls_a_record_flagged_unknown_normal(novelty_model):
    meta = novelty_model.meta
    classes, normal = meta.classes, meta.classes.index(meta.normal_class)
    probabilities = np.full((4, len(classes)), 0.05)
    probabilities[:2, normal] = 0.6  # rows 0, 1: normal is the most probable class
    probabilities[0, 3] = probabilities[1, 3] = 0.15  # ... and class 3 the most probable attack
    probabilities[2:, 2] = 0.6  # rows 2, 3: class 2
    threshold = meta.novelty.threshold
    scores = np.array([threshold + 1, threshold - 1, threshold + 1, threshold - 1])  # rows 0 and 2 flagged unknown
    session = _FixedSession(probabilities / probabilities.sum(axis=1, keepdims=True), scores)
    rows = Preprocessor(meta).transform(list(meta.examples.values())[:4])

    def called(unknown_is_attack):
        novelty = meta.novelty.model_copy(update={"unknown_is_attack": unknown_is_attack})
        return Model(meta.model_copy(update={"novelty": novelty}), session).predict_encoded(rows)

    assert called(False).best.tolist() == [normal, normal, 2, 2]
    ruled = called(True)
    assert ruled.best.tolist() == [3, normal, 2, 2] and ruled.unknown.tolist() == [True, False, True, False]
    assert ruled.labels.tolist() == [classes[3], meta.normal_class, classes[2], classes[2]]
    assert ruled.is_attack.tolist() == [True, False, True, True]
    np.testing.assert_allclose(ruled.confidence, session.outputs[0][np.arange(4), ruled.best])  # the label's probability
    assert [a["label"] for a in ruled.answers()] == ruled.labels.tolist()
