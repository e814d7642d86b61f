"""Loading every model of an index, with each dataset's default."""

import json

import numpy as np
import pytest

from inference import UnknownModelError, load_model


def test_every_indexed_model_loads_with_its_dataset_default(shipped, artifacts_dir):
    index = json.loads((artifacts_dir / "index.json").read_text())
    assert list(shipped.models) == [entry["id"] for entry in index["models"]]
    assert shipped.defaults == index["dataset_defaults"]
    for dataset, model_id in index["dataset_defaults"].items():
        assert shipped.default_for(dataset) is shipped.get(model_id) and shipped.get(model_id).dataset == dataset
    for entry in index["models"]:
        assert shipped.folder(entry["id"]) == artifacts_dir / entry["path"]


def test_an_unknown_model_id_is_a_lookup_error_naming_it(shipped):
    with pytest.raises(UnknownModelError, match="^unknown model 'no-such-model'$") as raised:
        shipped.get("no-such-model")
    assert isinstance(raised.value, LookupError) and raised.value.model_id == "no-such-model"


def test_one_folder_loads_alone_and_predicts_as_in_the_index(shipped):
    model_id = next(iter(shipped.models))
    alone = load_model(shipped.folder(model_id))
    records = list(alone.meta.examples.values())
    np.testing.assert_array_equal(
        alone.predict_records(records).probabilities, shipped.get(model_id).predict_records(records).probabilities
    )
