import numpy as np
import pandas as pd

from trainer.__main__ import main
from trainer.overlap import encoding_collisions, part_scores, repeated_rows, training_label_agreement, training_lookup


def test_a_row_repeats_training_when_every_column_matches_whatever_the_dtypes():
    train = pd.DataFrame({"bytes": [10, 20, 30], "proto": ["tcp", "udp", "tcp"], "extra": [1, 2, 3]})
    rows = pd.DataFrame({"bytes": [10.0, 20.0, 30.5, 10.0], "proto": ["tcp", "tcp", "tcp", "tcp"]})

    # only the columns of `rows` count: "extra" is not one the model reads
    np.testing.assert_array_equal(repeated_rows(train, rows), [True, False, False, True])


def test_lookup_agreement_counts_repeated_rows_whose_common_training_label_is_theirs():
    train = pd.DataFrame({"x": [1, 1, 1, 2]})
    labels = pd.Series(["DoS", "DoS", "Recon", "Benign"])
    rows = pd.DataFrame({"x": [1, 2, 2, 3]})

    # x=1 -> DoS (2 of 3): right; x=2 -> Benign: right once, wrong once; x=3 is new and not counted
    assert training_label_agreement(train, labels, rows, pd.Series(["DoS", "Benign", "DoS", "DoS"])) == 2 / 3


def test_part_scores_score_each_part_on_its_own_rows_and_classes():
    truth = np.array(["a", "a", "b", "b", "a", "b"])
    predicted = np.array(["a", "a", "b", "a", "b", "b"])
    repeated = np.array([True, True, True, True, False, False])

    scores = part_scores(truth, predicted, repeated, ["a", "b"], "a")

    assert scores["repeated"]["rows"] == 4 and scores["new"]["rows"] == 2
    assert scores["repeated"]["errors"] == 1 and scores["new"]["errors"] == 1
    assert scores["repeated"]["accuracy"] == 0.75 and scores["new"]["accuracy"] == 0.5
    assert scores["repeated"]["recall"] == {"a": 1.0, "b": 0.5}
    assert scores["new"]["recall"] == {"a": 0.0, "b": 1.0}
    assert scores["all"]["rows"] == 6 and scores["all"]["errors"] == 2 and scores["all"]["recall"] == {"a": 2 / 3, "b": 2 / 3}


def test_training_lookup_reads_exact_rows_then_rows_equal_but_for_timing_then_falls_back():
    train = pd.DataFrame({"bytes": [40, 40, 40, 60], "duration": [5, 7, 9, 5]})
    labels = pd.Series(["DoS", "Recon", "Recon", "Benign"])
    rows = pd.DataFrame({"bytes": [40, 40, 80], "duration": [5, 8, 5]})

    called, fell_back = training_lookup(train, labels, rows, ("duration",), np.array(["x", "y", "z"]))

    # (40, 5) is a training row: its own label, though most rows with 40 bytes are Recon; (40, 8) is new: the label
    # most rows with 40 bytes have; no training row has 80 bytes: the fallback's call
    assert list(called) == ["DoS", "Recon", "z"] and fell_back == 1


def test_overlap_without_an_artifacts_index_is_a_one_line_error(tmp_path, capsys):
    assert main(["overlap", "--artifacts", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("trainer: error:") and "index.json" in error and error.count("\n") == 1


def test_encoding_collisions_count_rows_that_share_encoded_values_with_another_label():
    encoded = np.array([[0.1, 0.2], [0.1, 0.2], [0.1, 0.2], [0.3, 0.4], [0.3, 0.4]], dtype=np.float32)
    labels = np.array(["DoS", "DoS", "Recon", "DoS", "DoS"])

    assert encoding_collisions(encoded, labels) == 3  # the first three rows; the last two agree
