import numpy as np
import pytest

from preprocess import ModelMetadata, Preprocessor
from preprocess.defaults import SCALINGS
from trainer.datasets import NF_BOT_IOT_V2, NSL_KDD
from trainer.encoder import Encoder
from trainer.load import load
from trainer.splits import sample_rows


class _Layout:
    """The two metadata fields the numpy transform reads."""

    def __init__(self, encoder: Encoder):
        self.features = encoder.features
        self.encoded_features = encoder.encoded_features


@pytest.fixture(scope="module")
def nsl_rows(data_dir):
    train = sample_rows(load(NSL_KDD, "multiclass", data_dir / "nsl-kdd" / "KDDTrain+_20Percent.txt.gz"), 8000, 0)
    test = sample_rows(load(NSL_KDD, "multiclass", data_dir / "nsl-kdd" / "KDDTest+.txt.gz"), 3000, 0)
    return train.features, test


@pytest.fixture(scope="module")
def nsl(nsl_rows):
    train, test = nsl_rows
    return Encoder(NSL_KDD, train), test


@pytest.fixture(scope="module")
def nf_rows(data_dir):
    data = sample_rows(load(NF_BOT_IOT_V2, "multiclass", data_dir / "bot-iot" / "nf_bot_iot_v2_train.csv.gz"), 6000, 1)
    return data.features.iloc[:4000], data.features.iloc[4000:]


@pytest.mark.parametrize("scaling", SCALINGS)
def test_numpy_transform_equals_trainer_transform_on_real_nsl_kdd_rows(nsl_rows, scaling):
    train, test = nsl_rows
    encoder = Encoder(NSL_KDD, train, scaling)
    expected = encoder.transform(test.features)
    actual = Preprocessor(_Layout(encoder)).transform(test.features.to_dict("records"))
    assert actual.shape == expected.shape == (3000, len(encoder.encoded_features))
    np.testing.assert_allclose(actual, expected, atol=1e-6)


@pytest.mark.parametrize("scaling", SCALINGS)
def test_numpy_transform_equals_trainer_transform_on_real_nf_bot_iot_rows(nf_rows, scaling):
    train, held_out = nf_rows
    encoder = Encoder(NF_BOT_IOT_V2, train, scaling)
    records = held_out.to_dict("records")
    records[0] |= {"IN_BYTES": None, "OUT_BYTES": float("nan"), "FLOW_DURATION_MILLISECONDS": 1e12}  # missing, beyond training
    frame = held_out.assign(IN_BYTES=[np.nan, *held_out["IN_BYTES"][1:]], OUT_BYTES=[np.nan, *held_out["OUT_BYTES"][1:]])
    frame.iloc[0, frame.columns.get_loc("FLOW_DURATION_MILLISECONDS")] = 1e12
    np.testing.assert_allclose(Preprocessor(_Layout(encoder)).transform(records), encoder.transform(frame), atol=1e-6)


def test_quantile_scaling_keeps_apart_durations_that_log_scaling_merges(nf_rows):
    """nf-bot-iot-v2 stores most flow durations as small negative microsecond counts wrapped to just under 2^32 / 1000
    ms, whose last digits tell flows apart; log1p then min-max squeezes a millisecond there below float32's step."""
    train, _ = nf_rows
    column = "FLOW_DURATION_MILLISECONDS"
    distinct = train[column].nunique()

    def encoded_distinct(scaling):
        encoder = Encoder(NF_BOT_IOT_V2, train, scaling)
        return len(np.unique(encoder.transform(train)[:, encoder.encoded_features.index(column)]))

    # Quantile levels can still merge a value with the knot just past a wide gap in the data (one of 704 here).
    assert encoded_distinct("quantile") >= 0.99 * distinct
    assert encoded_distinct("log-minmax") < 0.75 * distinct


def test_quantile_levels_follow_the_training_distribution(nf_rows):
    """A value's level is the share of training rows below it, up to the share at or below it; between knots the
    lookup interpolates, so it may stray by a few knots' spacing (0.001 each)."""
    train, _ = nf_rows
    encoder = Encoder(NF_BOT_IOT_V2, train, "quantile")
    encoded = encoder.transform(train)[:, encoder.encoded_features.index("IN_BYTES")]
    values = train["IN_BYTES"].to_numpy()
    below = (values[:, None] < values[None, :]).mean(axis=0)
    at_or_below = (values[:, None] <= values[None, :]).mean(axis=0)
    assert np.abs(encoded - np.clip(encoded, below, at_or_below)).max() < 0.025
    assert np.median(np.abs(encoded - np.clip(encoded, below, at_or_below))) < 0.001
    assert encoded.min() >= 0.0 and encoded.max() <= 1.0


def test_unseen_category_encodes_as_all_zero_and_missing_values_as_training_median(nsl):
    encoder, test = nsl
    record = test.features.iloc[0].to_dict() | {"service": "never_seen_service", "src_bytes": float("nan"), "dst_bytes": None}
    encoded = Preprocessor(_Layout(encoder)).transform([record])[0]
    position = {name: i for i, name in enumerate(encoder.encoded_features)}
    assert all(encoded[i] == 0 for name, i in position.items() if name.startswith("service="))
    median = {f.name: f for f in encoder.features}
    for column in ("src_bytes", "dst_bytes"):
        f = median[column]
        expected = np.clip((np.log1p(f.fill_value) - f.offset) / f.scale, 0, 1)
        assert encoded[position[column]] == pytest.approx(expected, abs=1e-6)


def test_encoder_is_fitted_on_training_rows_only(nsl):
    encoder, test = nsl
    by_name = {f.name: f for f in encoder.features}
    # KDDTest+ holds services the 8,000 training rows never show; they must not be in the vocabulary.
    assert set(test.features["service"]) - set(by_name["service"].vocabulary)
    assert by_name["src_bytes"].log1p and not by_name["serror_rate"].log1p
    assert by_name["serror_rate"].maximum == 1.0 and by_name["src_bytes"].maximum is None


def test_metadata_schema_accepts_the_encoder_description(nsl):
    encoder, _ = nsl
    fields = ModelMetadata.model_fields
    assert {"features", "encoded_features", "classes", "onnx"} <= set(fields)
    assert [f.name for f in encoder.features] + encoder.constant == [
        c for c in NSL_KDD.features if c not in encoder.constant
    ] + encoder.constant
    assert len(encoder.features) + len(encoder.constant) == len(NSL_KDD.features)


def test_a_column_constant_in_training_is_not_encoded_and_the_transform_ignores_it(nsl):
    encoder, test = nsl
    assert "num_outbound_cmds" in encoder.constant  # zero in every KDDTrain+ row
    assert "num_outbound_cmds" not in encoder.encoded_features
    assert "num_outbound_cmds" not in {f.name for f in encoder.features}
    changed = test.features.assign(num_outbound_cmds=7)  # a value training never saw changes nothing
    np.testing.assert_array_equal(encoder.transform(changed), encoder.transform(test.features))
    np.testing.assert_array_equal(
        Preprocessor(_Layout(encoder)).transform(changed.to_dict("records")), encoder.transform(test.features)
    )
