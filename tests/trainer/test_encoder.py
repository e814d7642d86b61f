import numpy as np
import pytest

from preprocess import ModelMetadata, Preprocessor
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
def nsl(data_dir):
    train = sample_rows(load(NSL_KDD, "multiclass", data_dir / "nsl-kdd" / "KDDTrain+_20Percent.txt.gz"), 8000, 0)
    test = sample_rows(load(NSL_KDD, "multiclass", data_dir / "nsl-kdd" / "KDDTest+.txt.gz"), 3000, 0)
    return Encoder(NSL_KDD, train.features), test


def test_numpy_transform_equals_trainer_transform_on_real_nsl_kdd_rows(nsl):
    encoder, test = nsl
    expected = encoder.transform(test.features)
    actual = Preprocessor(_Layout(encoder)).transform(test.features.to_dict("records"))
    assert actual.shape == expected.shape == (3000, len(encoder.encoded_features))
    np.testing.assert_allclose(actual, expected, atol=1e-6)


def test_numpy_transform_equals_trainer_transform_on_real_nf_bot_iot_rows(data_dir):
    data = sample_rows(load(NF_BOT_IOT_V2, "multiclass", data_dir / "bot-iot" / "nf_bot_iot_v2_train.csv.gz"), 6000, 1)
    encoder = Encoder(NF_BOT_IOT_V2, data.features.iloc[:4000])
    held_out = data.features.iloc[4000:]
    np.testing.assert_allclose(
        Preprocessor(_Layout(encoder)).transform(held_out.to_dict("records")), encoder.transform(held_out), atol=1e-6
    )


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
