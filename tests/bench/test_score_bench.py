"""bench/score.py runs end to end on a few rows and writes what it promises (no timing asserted)."""

import json


def test_score_bench_measures_both_sides(run_module, artifacts_dir, tmp_path):
    run_module("bench.score", "--artifacts", str(artifacts_dir), "--limit-rows", "300", "--repeats", "1",
               "--chunk-rows", "128", "--out", str(tmp_path))  # fmt: skip
    assert (tmp_path / "score.md").read_text().startswith("# ")
    results = json.loads((tmp_path / "score.json").read_text())["results"]
    assert set(results) == {"nsl-kdd", "nf-bot-iot-v2"}
    for result in results.values():
        assert result["rows"] == 300
        assert result["raw_rows_per_s"][0] > 0 and result["score_rows_per_s"][0] > 0 and result["ratio"] > 0
