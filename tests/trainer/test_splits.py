"""Sampling for reduced runs, on the real KDDTrain+ file."""

from trainer.datasets import NSL_KDD
from trainer.load import load
from trainer.splits import sample_rows


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
    assert sample_rows(full, 25000, seed=0, class_floor=300).labels.equals(sample_rows(full, 25000, seed=0, class_floor=300).labels)
