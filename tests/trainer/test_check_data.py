"""`trainer check-data` against the real data directory and a copy of it with one file missing and one altered."""

import re
import subprocess
import sys

import pytest

from trainer.__main__ import main
from trainer.datasets import DATASETS

ALTERED = "nsl-kdd/KDDTest+.txt.gz"
REMOVED = "bot-iot/nf_bot_iot_v2_train.csv.gz"
EVERY_FILE = [relative for spec in DATASETS.values() for relative in spec.files]
FILE_LINE = re.compile(r"^(ok|missing|wrong checksum) +(\S+)  \(", re.MULTILINE)  # status, file


@pytest.fixture
def broken_copy(tmp_path, data_dir):
    """The real files (linked, not copied), except one missing and one whose bytes differ."""
    for relative in EVERY_FILE:
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if relative == ALTERED:
            target.write_bytes((data_dir / relative).read_bytes()[:-1])
        elif relative != REMOVED:
            target.symlink_to(data_dir / relative)
    return tmp_path


def test_the_real_data_directory_passes(data_dir, capsys):
    assert main(["check-data", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert FILE_LINE.findall(out) == [("ok", relative) for relative in EVERY_FILE]
    assert out.splitlines()[-1] == f"all {len(EVERY_FILE)} files present with the expected checksums"


def test_a_missing_and_an_altered_file_fail_and_say_where_to_get_them(broken_copy, capsys):
    assert main(["check-data", "--data-dir", str(broken_copy)]) == 1
    out = capsys.readouterr().out
    status = {relative: found for found, relative in FILE_LINE.findall(out)}
    assert status[ALTERED] == "wrong checksum" and status[REMOVED] == "missing"
    assert [s for f, s in status.items() if f not in (ALTERED, REMOVED)] == ["ok"] * (len(EVERY_FILE) - 2)
    assert f"put it at: {(broken_copy / REMOVED).resolve()}" in out
    assert f"put it at: {(broken_copy / ALTERED).resolve()}" in out
    assert "https://staff.itee.uq.edu.au/marius/NIDS_datasets/" in out  # NF-BoT-IoT-v2's publisher, for the missing file
    assert "https://www.unb.ca/cic/datasets/nsl.html" in out  # NSL-KDD's, for the altered one
    assert "https://research.unsw.edu.au/projects/bot-iot-dataset" not in out  # the BoT-IoT samples are fine
    assert "2 of 6 files need attention" in out


def test_an_absent_directory_lists_every_file_as_missing(tmp_path, capsys):
    assert main(["check-data", "--data-dir", str(tmp_path / "nowhere")]) == 1
    out = capsys.readouterr().out
    assert "(does not exist)" in out.splitlines()[0]
    assert out.count("is missing.") == len(EVERY_FILE)


def test_checking_loads_neither_pandas_nor_tensorflow(data_dir):
    code = (
        "import sys; from trainer.__main__ import main; code = main(['check-data', '--data-dir', sys.argv[1]]); "
        "print(sorted({'pandas', 'tensorflow', 'keras'} & set(sys.modules)), code, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code, str(data_dir)], capture_output=True, text=True, timeout=120)
    assert result.stderr.strip().splitlines()[-1] == "[] 0"
