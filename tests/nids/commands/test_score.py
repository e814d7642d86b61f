"""`nids score`: the service's labels for every row of real files, bad rows rejected without shifting the others,
wrong files refused with one line, and the Spark engine's output identical to the local one."""

import gzip
import json
import shutil

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from inference import load_models
from tests.inference.conftest import NOVELTY_MODEL, write_novelty_artifacts
from trainer.datasets import NF_BOT_IOT_V2, NSL_KDD


def read_table(path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    # Identifiers stay text, as written.
    return pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(strings_can_be_null=False))


def test_kddtest_labels_equal_the_service(score, service, kdd_test, kdd_records, tmp_path):
    output = tmp_path / "kdd.csv"
    code, err = score(kdd_test, "--dataset", "nsl-kdd", "-o", output)
    assert code == 0, err
    scored = read_table(output)
    assert scored.column("row").to_pylist() == list(range(1, len(kdd_records) + 1))
    answers = service("nsl-kdd", kdd_records)
    assert scored.column("label").to_pylist() == [a["label"] for a in answers]
    assert scored.column("is_attack").to_pylist() == [a["is_attack"] for a in answers]
    assert scored.column("confidence").to_pylist() == pytest.approx([a["confidence"] for a in answers], abs=1e-6)
    classes = [name.removeprefix("p_") for name in scored.column_names if name.startswith("p_")]
    assert classes == list(answers[0]["probabilities"])
    assert (tmp_path / "kdd.csv.rejects.csv").read_text().splitlines() == ["row,column,reason,value,record"]


def test_nf_bot_iot_sample_labels_equal_the_service(score, service, nf_sample, read_records, tmp_path):
    output = tmp_path / "nf.parquet"
    code, err = score(nf_sample, "-o", output)  # the dataset is told by the header
    assert code == 0, err
    scored = read_table(output)
    records = read_records(nf_sample, list(NF_BOT_IOT_V2.features))
    answers = service("nf-bot-iot-v2", records)
    assert scored.num_rows == len(records) >= 19_000
    assert scored.column("label").to_pylist() == [a["label"] for a in answers]
    assert len(set(scored.column("label").to_pylist())) >= 3
    # The identifying columns come along, row for row.
    ids = read_records(nf_sample, ["IPV4_SRC_ADDR", "L4_SRC_PORT", "IPV4_DST_ADDR", "L4_DST_PORT"])
    assert scored.column_names[:5] == ["IPV4_SRC_ADDR", "L4_SRC_PORT", "IPV4_DST_ADDR", "L4_DST_PORT", "row"]
    assert scored.column("IPV4_SRC_ADDR").to_pylist() == [r["IPV4_SRC_ADDR"] for r in ids]
    assert scored.column("L4_DST_PORT").to_pylist() == [str(r["L4_DST_PORT"]) for r in ids]


# row number (1-based) -> (column name, how the line is broken); the file is the first 120 rows of KDDTest+.
BROKEN = {
    5: ("src_bytes", "abc"),  # not a number
    17: ("dst_bytes", ""),  # missing
    33: ("serror_rate", "1.5"),  # above the bound the service enforces
    50: ("duration", "-1"),  # below it
    60: ("protocol_type", "xyz"),  # not in a closed vocabulary
    75: ("count", "2.5"),  # not an integer
    90: ("same_srv_rate", "inf"),  # not finite
}
SHORT_ROW, EMPTY_ROW = 100, 101  # a line with a field missing; an empty line


def _break(line: str, column: str, value: str) -> str:
    fields = line.split(",")
    fields[NSL_KDD.columns.index(column)] = value
    return ",".join(fields)


def test_bad_rows_are_rejected_and_the_others_keep_their_numbers(score, kdd_lines, tmp_path):
    clean, broken = tmp_path / "clean.txt", tmp_path / "broken.txt"
    lines = kdd_lines[:120]
    clean.write_text("\n".join(lines) + "\n")
    bad = list(lines)
    for row, (column, value) in BROKEN.items():
        bad[row - 1] = _break(bad[row - 1], column, value)
    bad[SHORT_ROW - 1] = bad[SHORT_ROW - 1].rsplit(",", 3)[0]
    bad[EMPTY_ROW - 1] = ""
    broken.write_text("\n".join(bad) + "\n")

    assert score(clean, "--dataset", "nsl-kdd", "-o", tmp_path / "clean.csv")[0] == 0
    code, err = score(broken, "--dataset", "nsl-kdd", "-o", tmp_path / "broken.csv", "--rejects", tmp_path / "bad.csv")
    assert code == 0, err

    rejected = set(BROKEN) | {SHORT_ROW, EMPTY_ROW}
    rejects = pa_csv.read_csv(tmp_path / "bad.csv").to_pylist()
    assert {r["row"] for r in rejects} == rejected
    by_row = {r["row"]: r for r in rejects if r["row"] in BROKEN}
    assert {row: r["column"] for row, r in by_row.items()} == {row: column for row, (column, _) in BROKEN.items()}
    assert by_row[5]["reason"] == "not a number" and by_row[5]["value"] == "abc"
    assert by_row[17]["reason"] == "missing value"
    assert by_row[33]["reason"] == "above the maximum 1"
    assert by_row[50]["reason"] == "below the minimum 0"
    assert by_row[60]["reason"] == "not one of the values seen in training"
    assert by_row[75]["reason"] == "not an integer"
    assert by_row[90]["reason"] == "not a finite number"
    assert by_row[5]["record"].split(",")[4] == "abc"  # the row's raw values, for whoever fixes the source
    short = next(r for r in rejects if r["row"] == SHORT_ROW)
    assert short["reason"] == "40 fields, expected 43"

    good, expected = read_table(tmp_path / "broken.csv"), read_table(tmp_path / "clean.csv")
    keep = [row for row in range(1, 121) if row not in rejected]
    assert good.column("row").to_pylist() == keep
    expected = expected.filter(pa.compute.is_in(expected.column("row"), pa.array(keep)))
    assert good.equals(expected)


def test_parquet_in_parquet_out(score, kdd_lines, tmp_path):
    source = tmp_path / "some.txt"
    source.write_text("\n".join(kdd_lines[:500]) + "\n")
    assert score(source, "--dataset", "nsl-kdd", "-o", tmp_path / "a.csv")[0] == 0
    table = pa_csv.read_csv(source, read_options=pa_csv.ReadOptions(column_names=list(NSL_KDD.columns)))
    pq.write_table(table, tmp_path / "some.parquet")
    code, err = score(tmp_path / "some.parquet", "-o", tmp_path / "b.parquet", "--chunk-rows", "64")
    assert code == 0, err
    assert read_table(tmp_path / "b.parquet").equals(
        read_table(tmp_path / "a.csv").cast(read_table(tmp_path / "b.parquet").schema)
    )


@pytest.mark.parametrize("chunk_rows", ["1", "7", "1000"])
def test_chunk_size_changes_nothing(score, kdd_lines, tmp_path, chunk_rows):
    source = tmp_path / "some.txt"
    source.write_text("\n".join(kdd_lines[:300]) + "\n")
    assert score(source, "--dataset", "nsl-kdd", "-o", tmp_path / "whole.csv")[0] == 0
    assert score(source, "--dataset", "nsl-kdd", "-o", tmp_path / "parts.csv", "--chunk-rows", chunk_rows)[0] == 0
    assert (tmp_path / "parts.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_wrong_files_are_one_line_and_exit_2(score, nf_sample, kdd_test, tmp_path):
    missing_column = tmp_path / "missing.csv"
    header, *rows = nf_sample.read_text().splitlines()[:10]
    keep = [i for i, name in enumerate(header.split(",")) if name != "IN_BYTES"]
    missing_column.write_text("\n".join(",".join(line.split(",")[i] for i in keep) for line in [header, *rows]) + "\n")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    cases = [
        ((missing_column, "-o", tmp_path / "o.csv"), "missing 1 column(s)"),
        ((missing_column, "--dataset", "nf-bot-iot-v2", "-o", tmp_path / "o.csv"), "IN_BYTES"),
        ((tmp_path / "nowhere.csv", "-o", tmp_path / "o.csv"), "no such file"),
        ((binary, "-o", tmp_path / "o.csv"), ""),
        ((kdd_test, "-o", tmp_path / "o.csv"), "--dataset"),  # headerless: the dataset cannot be told
        ((kdd_test, "--dataset", "nsl-kdd", "-o", tmp_path / "o.json"), ".csv"),
        ((kdd_test, "--model", "no-such-model", "-o", tmp_path / "o.csv"), "unknown model"),
        ((kdd_test, "--dataset", "kdd", "-o", tmp_path / "o.csv"), "no model for dataset 'kdd'"),
        ((kdd_test, "--model", "nf-bot-iot-v2-multiclass-cnn", "--dataset", "nsl-kdd", "-o", tmp_path / "o.csv"), "not nsl-kdd"),
    ]
    for args, message in cases:
        code, err = score(*args)
        assert code == 2, (args, err)
        assert err.count("\n") == 1 and err.startswith("nids score: error: ") and message in err, err
        assert "Traceback" not in err


def test_a_file_that_ends_mid_way_leaves_no_output(score, nf_sample, tmp_path):
    whole = gzip.compress(nf_sample.read_bytes())
    truncated = tmp_path / "flows.csv.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    output = tmp_path / "scored.csv"
    code, err = score(truncated, "-o", output, "--chunk-rows", "1000")
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("nids score: error: ") and "Truncated" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flows.csv.gz"]  # no partial output, no rejects file


def test_alerts_for_attack_verdicts(score, nf_sample, artifacts_dir, tmp_path):
    source = tmp_path / "few.csv"
    source.write_text("\n".join(nf_sample.read_text().splitlines()[:301]) + "\n")
    alerts = tmp_path / "alerts.jsonl"
    code, err = score(source, "-o", tmp_path / "few.csv.out.csv", "--alerts-jsonl", alerts)
    assert code == 0, err
    scored = read_table(tmp_path / "few.csv.out.csv").to_pylist()
    docs = [json.loads(line) for line in alerts.read_text().splitlines()]
    attacks = [r for r in scored if r["is_attack"]]
    assert 0 < len(docs) == len(attacks)
    first, doc = attacks[0], next(d for d in docs if d["nids"]["row"] == attacks[0]["row"])
    assert doc["event"]["kind"] == "alert" and doc["rule"]["name"] == first["label"]
    assert doc["source"] == {"ip": first["IPV4_SRC_ADDR"], "port": int(first["L4_SRC_PORT"])}
    assert doc["destination"] == {"ip": first["IPV4_DST_ADDR"], "port": int(first["L4_DST_PORT"])}
    default = json.loads((artifacts_dir / "index.json").read_text())["dataset_defaults"]["nf-bot-iot-v2"]
    assert doc["observer"]["name"] == default
    assert "alerts: " in err and " 0 dropped" in err


@pytest.mark.spark
def test_spark_engine_output_equals_local(score, nf_sample, tmp_path):
    if shutil.which("java") is None:
        pytest.skip("--engine spark needs Java 17: run .ci/java.sh (or deselect with -m 'not spark')")
    lines = nf_sample.read_text().splitlines()[:3001]
    fields = lines[10].split(",")
    fields[lines[0].split(",").index("PROTOCOL")] = "x"  # a bad value: the row is rejected by both engines
    lines[10] = ",".join(fields)
    lines[20] = lines[20].rsplit(",", 5)[0]  # a short line
    source = tmp_path / "flows.csv"
    source.write_text("\n".join(lines) + "\n")
    local, spark = tmp_path / "local.parquet", tmp_path / "spark.parquet"
    assert score(source, "-o", local, "--chunk-rows", "1000")[0] == 0
    code, err = score(source, "-o", spark, "--engine", "spark", "--chunk-rows", "700")
    assert code == 0, err
    assert read_table(spark).equals(read_table(local))
    assert read_table(local).num_rows == 2998
    local_rejects = pa_csv.read_csv(tmp_path / "local.parquet.rejects.csv")
    spark_rejects = pa_csv.read_csv(tmp_path / "spark.parquet.rejects.csv")
    assert sorted(local_rejects.to_pylist(), key=str) == sorted(spark_rejects.to_pylist(), key=str)
    assert local_rejects.column("row").to_pylist() == [10, 20]

    # Parquet input, read by Spark's own reader: the same again (text columns, so the bad value stays in).
    without_short = [line for i, line in enumerate(lines) if i != 20]
    text = pa_csv.read_csv(
        pa.py_buffer("\n".join(without_short).encode()),
        convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(lines[0].split(","), pa.string())),
    )
    pq.write_table(text, tmp_path / "flows.parquet", row_group_size=500)
    local, spark = tmp_path / "local-pq.csv", tmp_path / "spark-pq.csv"
    assert score(tmp_path / "flows.parquet", "-o", local)[0] == 0
    code, err = score(tmp_path / "flows.parquet", "-o", spark, "--engine", "spark", "--chunk-rows", "300")
    assert code == 0, err
    assert spark.read_bytes() == local.read_bytes()
    assert pa_csv.read_csv(tmp_path / "spark-pq.csv.rejects.csv").column("row").to_pylist() == [10]


def test_novelty_columns_and_unknown_alerts(score, kdd_lines, kdd_records, artifacts_dir, tmp_path):
    root = write_novelty_artifacts(tmp_path / "artifacts", artifacts_dir)
    model = load_models(root).get(NOVELTY_MODEL)
    source = tmp_path / "some.txt"
    source.write_text("\n".join(kdd_lines[:400]) + "\n")
    alerts = tmp_path / "alerts.jsonl"
    code, err = score(source, "--dataset", "nsl-kdd", "--artifacts", root, "-o", tmp_path / "n.csv", "--alerts-jsonl", alerts)
    assert code == 0, err
    scored = read_table(tmp_path / "n.csv")
    expected = model.predict_records(kdd_records[:400]).answers()
    assert scored.column("novelty_score").to_pylist() == pytest.approx([a["novelty"]["score"] for a in expected])
    unknown = scored.column("novelty_unknown").to_pylist()
    assert unknown == [a["novelty"]["unknown"] for a in expected]
    rows, attack = scored.column("row").to_pylist(), scored.column("is_attack").to_pylist()
    flagged = {row for row, u, a in zip(rows, unknown, attack, strict=True) if u or a}
    docs = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert {d["nids"]["row"] for d in docs} == flagged
    novel_normal = [d for d in docs if not d["nids"]["is_attack"]]
    assert all(d["nids"]["novelty"]["unknown"] for d in novel_normal)
    assert {d["nids"]["novelty"]["threshold"] for d in docs} == {model.meta.novelty.threshold}
