"""Each benchmark script runs end to end with tiny settings and writes what it promises, so none rots.

No timing is asserted anywhere: the machines are shared and noisy; the numbers belong in bench/results.
"""

import json

import pytest

from bench import training_recipes


def _results(out, name: str) -> dict:
    assert (out / f"{name}.md").read_text().startswith("# ")
    return json.loads((out / f"{name}.json").read_text())


def test_serving_measures_ours_the_floor_bentoml_and_the_baseline(run_module, tiny_artifacts, tiny_model, tmp_path):
    run_module(
        "bench.serving",
        "--artifacts",
        str(tiny_artifacts),
        "--models",
        tiny_model,
        "--connections",
        "1",
        "8",
        "--seconds",
        "1",
        "--batch-sizes",
        "1",
        "50",
        "--batch-seconds",
        "1",
        "--inprocess-seconds",
        "0.05",
        "--pairs",
        "2",
        "--batch-rounds",
        "2",
        "--out",
        str(tmp_path),
        timeout=600,
    )
    results = _results(tmp_path, "serving")
    model = results["models"][tiny_model]
    for side in ("ours", "floor", "bentoml", "baseline"):
        for level in ("1", "8"):
            single = model[side]["single"][level]
            assert single["requests"] > 0 and single["errors"] == 0, (side, level, single)
        formats = ("json", "csv", "arrow", "csv→arrow", "arrow→arrow") if side == "ours" else ("json",)
        for f in formats:
            for size in ("1", "50"):
                run = model[side]["batch"][f][size]
                assert run["requests"] >= 3 and run["errors"] == 0, (side, f, size, run)
        if side != "ours":
            assert model[side]["peak_rss_mb"] > 0
    assert set(model["inprocess_limit"]) == {"1", "50"} and model["inprocess_limit"]["50"]["records_per_s"] > 0
    assert set(model["inprocess"]) == {"1", "50"}
    ways = {"keras_predict", "keras_call", "keras_tf_function", "onnxruntime", "onnxruntime_served"}
    assert set(model["inprocess"]["50"]) == ways
    assert results["servers"]["ours"]["peak_rss_mb"] > 0
    pairs = model["paired"]
    assert [len(pairs["runs"][side]) for side in ("ours", "floor")] == [2, 2] and pairs["errors"] == 0
    assert min(pairs["ratios"]) <= pairs["median_ratio"] <= max(pairs["ratios"])
    assert "alternating pairs" in (tmp_path / "serving.md").read_text()
    for size in ("1", "50"):
        rounds = model["ours"]["batch_rounds"][size]
        assert len(rounds["limits"]) == 2 and min(rounds["limits"]) > 0
        for f in ("json", "csv", "arrow", "csv→arrow", "arrow→arrow"):
            assert len(rounds[f]["ratios"]) == 2 and rounds[f]["errors"] == 0
            assert len(rounds[f]["limits"]) == 2 and min(rounds[f]["limits"]) > 0  # each run has its own limit
            assert min(rounds[f]["ratios"]) <= rounds[f]["median_ratio"] <= max(rounds[f]["ratios"])
    assert "alternating rounds" in (tmp_path / "serving.md").read_text()
    # Checked and reported, never asserted: only the single-record targets apply (no batch of 1,000 here).
    assert [(t["model"], type(t["met"])) for t in results["targets"]] == [(tiny_model, bool)] * 2


def test_profile_request_sees_every_stage_of_a_request(run_module, tiny_artifacts, tiny_model, tmp_path):
    run_module(
        "bench.profile_request",
        "--artifacts",
        str(tiny_artifacts),
        "--model",
        tiny_model,
        "--requests",
        "100",
        "--batch-size",
        "20",
        "--batch-requests",
        "3",
        "--out",
        str(tmp_path),
    )
    profiles = _results(tmp_path, "profile_request")["profiles"]
    single = profiles["/predict, one record"]
    seen = {stage for stage, share in single["stages_share"].items() if share > 0}
    # A stage missing here means a function it names was renamed: the breakdown would silently lump it into another.
    stages = (
        "validate request (msgspec, else pydantic)",
        "auth: verify JWT",
        "preprocess (numpy)",
        "inference (onnxruntime)",
        "build the answer",
    )
    for stage in stages:
        assert stage in seen, f"{stage} not seen; seen: {sorted(seen)}"
    assert "/predict/batch, 20 records" in profiles


def test_training_cost_reads_the_trainer_and_times_resampling(run_module, tiny_artifacts, tiny_model, tmp_path):
    run_module(
        "bench.training_cost",
        "--artifacts",
        str(tiny_artifacts),
        "--methods",
        "ros",
        "--limit-rows",
        "1000",
        "--out",
        str(tmp_path),
    )
    results = _results(tmp_path, "training_cost")
    assert [m["model"] for m in results["models"]] == [tiny_model]
    assert results["models"][0]["peak_rss_mb"] > 0 and results["models"][0]["limit_rows"] == 2000
    [ros] = results["resampling"]
    assert ros["method"] == "ros" and ros["rows_after"] > ros["rows_before"] and ros["peak_rss_mb"] > 0


@pytest.mark.parametrize(
    ("arch", "cap", "written"), [("cnn", "0.3", "training_recipes_cap0.3"), ("cnn-lstm", "0.4", "training_recipes_cnn-lstm")]
)
def test_training_recipes_times_whole_runs_and_reads_their_test_results(run_module, tmp_path, arch, cap, written):
    options = ["--arch", arch, "--recipes", "fast", "--fast-cap", cap, "--limit-rows", "2000", "--out", str(tmp_path)]
    run_module("bench.training_recipes", *options, timeout=600)
    results = _results(tmp_path, written)
    [run] = results["runs"]
    assert run["recipe"] == "fast" and run["round"] == 1
    assert run["wall_seconds"] > run["fit_seconds"] > 0 and run["epochs_run"] >= 1
    assert 0 < run["test_accuracy"] <= 1 and set(run["recall"]) == {"normal", "DoS", "Probe", "R2L", "U2R"}
    assert f"--balance-cap {cap}" in run["command"] and f"--arch {arch}" in run["command"]
    assert 0 < run["validation_f1_macro"] <= 1


@pytest.mark.parametrize("cap", ["1.5", "0"])
def test_training_recipes_refuses_a_cap_outside_0_1_before_training(capsys, cap):
    with pytest.raises(SystemExit) as stopped:
        training_recipes.main(["--fast-cap", cap])
    assert stopped.value.code == 2 and "--fast-cap must be between 0 and 1" in capsys.readouterr().err
