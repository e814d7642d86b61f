"""Sampling for reduced runs and the validation split, on the real NSL-KDD files."""

import pytest

from trainer.datasets import NSL_KDD, DataError
from trainer.load import load
from trainer.splits import (
    SUBTYPE_SHARE,
    VALIDATION_SHARE,
    hold_out_subtypes,
    make_splits,
    sample_rows,
)


def test_class_floor_keeps_rare_classes_a_stratified_sample_would_shrink(data_dir):
    full = load(NSL_KDD, "multiclass", data_dir / "nsl-kdd" / "KDDTrain+.txt.gz")
    counts = full.labels.value_counts()

    plain = sample_rows(full, 25000, seed=0).labels.value_counts()
    floored = sample_rows(full, 25000, seed=0, class_floor=300).labels.value_counts()

    assert plain.sum() == 25000 and plain["U2R"] < 15  # a stratified fifth of 52 rows
    assert floored["U2R"] == counts["U2R"] == 52  # fewer than the floor: every row kept
    assert floored["R2L"] == 300 < counts["R2L"]
    assert floored["normal"] == plain["normal"]  # classes above the floor are untouched
    assert floored.sum() == 25000 + (300 - plain["R2L"]) + (52 - plain["U2R"])
    assert sample_rows(full, 25000, seed=0, class_floor=300).labels.equals(
        sample_rows(full, 25000, seed=0, class_floor=300).labels
    )


def _kdd_splits(data_dir, seed=0, validation_kind=None, protocol="official"):
    return make_splits(NSL_KDD, "multiclass", data_dir, protocol=protocol, seed=seed, validation_kind=validation_kind)


def test_subtype_validation_holds_whole_subtypes_out_of_training_and_never_uses_test_rows(data_dir):
    splits = _kdd_splits(data_dir)
    described = splits.description["validation"]
    assert described["kind"] == "subtypes"  # the official protocol's default
    held = {s: n for subtypes in described["held_out_subtypes"].values() for s, n in subtypes.items()}
    assert held and "normal" not in described["held_out_subtypes"]
    # Held-out subtypes: every row in validation, none in training.
    assert not splits.train.subtypes.isin(held).any()
    assert splits.validation.subtypes[splits.validation.subtypes.isin(held)].value_counts().to_dict() == held
    assert described["held_out_rows"] == sum(held.values())
    # Train and validation are KDDTrain+ exactly, nothing of KDDTest+: subtypes only the test file has are absent.
    full = load(NSL_KDD, "multiclass", data_dir / "nsl-kdd" / "KDDTrain+.txt.gz")
    assert len(splits.train) + len(splits.validation) == len(full)
    test_only = set(splits.test.subtypes) - set(full.subtypes)
    assert test_only and not (set(splits.train.subtypes) | set(splits.validation.subtypes)) & test_only
    # Each family keeps its largest subtype in training, so it stays learnable.
    for family in described["held_out_subtypes"]:
        largest = full.subtypes[full.labels == family].value_counts().index[0]
        assert largest not in held and (splits.train.subtypes == largest).any()


def test_held_out_subtypes_follow_the_seed_only(data_dir):
    full = load(NSL_KDD, "multiclass", data_dir / "nsl-kdd" / "KDDTrain+.txt.gz")
    chosen = [hold_out_subtypes(full, "normal", SUBTYPE_SHARE, seed) for seed in range(4)]
    assert chosen[0] == hold_out_subtypes(full, "normal", SUBTYPE_SHARE, 0)
    assert len({str(c) for c in chosen}) > 1  # the shuffle changes with the seed
    for subtypes in chosen:
        for family, taken in subtypes.items():
            family_rows = int((full.labels == family).sum())
            # "about the share": no single remaining choice would bring the total closer (greedy rule, checked loosely)
            assert abs(sum(taken.values()) - SUBTYPE_SHARE * family_rows) <= SUBTYPE_SHARE * family_rows


def test_random_validation_is_a_stratified_share_and_subtypes_refuse_other_protocols(data_dir):
    splits = _kdd_splits(data_dir, validation_kind="random")
    assert splits.description["validation"] == {"kind": "random", "random_share": VALIDATION_SHARE}
    assert set(splits.validation.subtypes) <= set(splits.train.subtypes) | {
        "spy",
        "perl",
        "phf",
    }  # tiny subtypes may fall on one side
    assert abs(len(splits.validation) / (len(splits.train) + len(splits.validation)) - VALIDATION_SHARE) < 0.001
    assert _kdd_splits(data_dir, protocol="random").description["validation"]["kind"] == "random"
    with pytest.raises(DataError, match="official protocol only"):
        _kdd_splits(data_dir, validation_kind="subtypes", protocol="random")


def test_every_split_carries_the_difficulty_of_its_own_rows(data_dir):
    """The rating travels with its rows through sampling, hold-outs and pooling: each split's (features, label,
    difficulty) rows are rows of the files, as often as the files hold them."""
    files = [data_dir / "nsl-kdd" / name for name in ("KDDTrain+.txt.gz", "KDDTest+.txt.gz")]
    loaded = [load(NSL_KDD, "multiclass", path) for path in files]
    assert all(part.difficulty is not None and part.difficulty.between(0, 21).all() for part in loaded)

    def rows(part):
        frame = part.features.assign(label=part.labels.to_numpy(), difficulty=part.difficulty.to_numpy())
        return frame.value_counts()

    for protocol in ("official", "random"):
        splits = _kdd_splits(data_dir, protocol=protocol)
        pool = rows(loaded[0]).add(rows(loaded[1]), fill_value=0)
        for part in (splits.train, splits.validation, splits.test):
            counted = rows(part)
            assert (counted <= pool.reindex(counted.index).fillna(0)).all()
    assert make_splits(NSL_KDD, "multiclass", data_dir, limit_rows=2000).validation.difficulty is not None
