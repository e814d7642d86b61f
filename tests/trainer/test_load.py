import gzip

import pytest

from trainer.datasets import BOT_IOT, DATASETS, NF_BOT_IOT_V2, NSL_KDD
from trainer.load import DataError, load, read_table

# Row counts and class counts as published in the shared datasets README.
NSL_FILES = {
    "KDDTrain+.txt.gz": (125_973, {"normal": 67_343, "DoS": 45_927, "Probe": 11_656, "R2L": 995, "U2R": 52}),
    "KDDTrain+_20Percent.txt.gz": (25_192, {"normal": 13_449, "DoS": 9_234, "Probe": 2_289, "R2L": 209, "U2R": 11}),
    "KDDTest+.txt.gz": (22_544, {"normal": 9_711, "DoS": 7_458, "Probe": 2_421, "R2L": 2_754, "U2R": 200}),
    "KDDTest-21.txt.gz": (11_850, {"normal": 2_152, "DoS": 4_342, "Probe": 2_402, "R2L": 2_754, "U2R": 200}),
}


@pytest.mark.parametrize("name", NSL_FILES)
def test_nsl_kdd_files_load_with_published_counts(data_dir, name):
    rows, classes = NSL_FILES[name]
    data = load(NSL_KDD, "multiclass", data_dir / "nsl-kdd" / name)
    assert len(data) == rows
    assert data.labels.value_counts().to_dict() == classes
    assert list(data.features.columns) == list(NSL_KDD.features)
    binary = load(NSL_KDD, "binary", data_dir / "nsl-kdd" / name).labels.value_counts()
    assert binary["normal"] == classes["normal"] and binary["attack"] == rows - classes["normal"]


def test_bot_iot_tab_crlf_sample_loads(data_dir):
    data = load(BOT_IOT, "multiclass", data_dir / "bot-iot" / "bot_iot_sample.csv.gz")
    assert len(data) == 999
    assert data.labels.value_counts().to_dict() == {"DDoS": 522, "DoS": 450, "Reconnaissance": 27}
    assert "pkSeqID" not in data.features and "saddr" not in data.features


def test_bot_iot_comma_sample_binary_labels(data_dir):
    data = load(BOT_IOT, "binary", data_dir / "bot-iot" / "balanced_bot_iot.csv.gz")
    assert data.labels.value_counts().to_dict() == {"normal": 477, "attack": 477}


def test_nf_bot_iot_v2_loads_without_identifiers(data_dir):
    data = load(NF_BOT_IOT_V2, "multiclass", data_dir / "bot-iot" / "nf_bot_iot_v2_train.csv.gz")
    assert data.labels.value_counts().to_dict() == {
        "DoS": 150_304,
        "DDoS": 76_097,
        "Reconnaissance": 23_316,
        "Benign": 1_157,
        "Theft": 30,
    }
    assert not {"IPV4_SRC_ADDR", "L4_SRC_PORT", "L4_DST_PORT", "Dataset", "Label", "Attack"} & set(data.features)


def test_timing_columns_are_features_of_their_dataset():
    for spec in DATASETS.values():
        assert set(spec.timing_columns) <= set(spec.features)
    assert "DURATION_IN" in NF_BOT_IOT_V2.timing_columns and "IN_BYTES" not in NF_BOT_IOT_V2.timing_columns


def test_every_dataset_lists_its_normal_class_first():
    for spec in DATASETS.values():
        for task in spec.tasks:
            assert spec.classes(task)[0] == spec.normal_class[task]


NSL_ROW = "0,tcp,http,SF,181,5450" + ",0" * 16 + ",8,8" + ",0.00" * 7 + ",9,9,1.00,0.00,0.11,0.00,0.00,0.00,0.00,0.00"


def _write(path, lines):
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "lines, message",
    [
        ([f"{NSL_ROW},normal,21", f"{NSL_ROW},martian_attack,21"], "line 2, column 'class': unknown label 'martian_attack'"),
        (
            [f"{NSL_ROW},normal,21", NSL_ROW.replace("181", "1x1", 1) + ",normal,21"],
            "line 2, column 'src_bytes': not a number: '1x1'",
        ),
        ([f"{NSL_ROW},normal,21", f"{NSL_ROW},normal"], "line 2: expected 43 fields"),
        ([f"{NSL_ROW},normal,21,extra"], "expected 43 fields per line, found 44"),
    ],
)
def test_malformed_nsl_kdd_file_names_file_line_and_column(tmp_path, lines, message):
    path = _write(tmp_path / "bad.txt.gz", lines)
    with pytest.raises(DataError) as error:
        load(NSL_KDD, "multiclass", path)
    assert str(error.value).startswith(str(path)) and message in str(error.value)
    assert "\n" not in str(error.value)


def test_header_file_with_wrong_columns_is_refused(tmp_path, data_dir):
    path = _write(tmp_path / "nf.csv.gz", ["IPV4_SRC_ADDR,IN_BYTES,Attack", "1.2.3.4,10,DoS"])
    with pytest.raises(DataError, match=r"wrong columns for nf-bot-iot-v2: missing .*'OUT_BYTES'"):
        read_table(NF_BOT_IOT_V2, path)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load(NSL_KDD, "binary", tmp_path / "absent.txt")
