"""The experiment report and the promotion of chosen cells, on a tiny experiment folder (tiny_experiment in conftest)."""

import json
import re

import pandas as pd
import pytest

from trainer import experiment
from trainer.__main__ import main
from trainer.artifacts import promote
from trainer.report import write_report
from trainer.report.common import mean_std, rare_classes


def _table(page: str, section: str, split: str = "test split") -> dict[str, dict[str, str]]:
    """The Markdown table under `## section` / `### split`, as {row label: {column: cell}}."""
    part = page.split(f"## {section}\n", 1)[1].split(f"### {split}\n", 1)[1]
    lines = []
    for line in part.splitlines():
        if line.startswith("|"):
            lines.append(line)
        elif lines:
            break
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    return {row[0]: dict(zip(header, row, strict=False)) for row in rows}


@pytest.fixture(scope="module")
def page(tiny_experiment) -> str:
    return write_report(tiny_experiment).read_text()


def test_mean_std_is_the_sample_std_over_seeds():
    assert mean_std(pd.Series([0.81, 0.91])) == "0.860 ± 0.071"  # std = 0.1 / sqrt(2) with ddof=1
    assert mean_std(pd.Series([0.5])) == "0.500"  # one seed: no spread to show
    assert mean_std(pd.Series([float("nan")])) == "–"


def test_table_has_a_row_per_model_and_balancing_then_the_baseline_with_mean_std_over_seeds(page):
    table = _table(page, "nsl-kdd · multiclass · official protocol")
    assert list(table) == [
        "CNN - None",
        "CNN - ROS",
        "CNN - SMOTE",
        "CNN - GAN",
        "Random forest (baseline)",
        "Gradient-boosted trees (baseline)",
    ]
    assert table["Random forest (baseline)"]["R2L recall"] == "0.125 ± 0.000"  # conftest.BASELINE_R2L: 1 and 5 of 8
    assert table["Gradient-boosted trees (baseline)"]["R2L recall"] == "0.625 ± 0.000"
    none = table["CNN - None"]
    assert none["Seeds"] == "2"
    assert none["Accuracy"] == "0.860 ± 0.071"  # 81 and 91 of 100 test rows right
    assert none["R2L recall"] == "0.000 ± 0.000"
    assert table["CNN - SMOTE"]["R2L recall"] == "0.875 ± 0.177"  # 6 and 8 of 8
    assert {"F1", "Recall", "Precision", "Macro-F1", "False-alarm rate", "U2R recall"} <= set(none)


def test_rare_classes_come_from_the_training_counts():
    def finished(counts, task="multiclass"):
        return [
            {
                "cell": {"dataset": "nsl-kdd", "task": task},
                "split": {"class_counts": {"train": counts}},
                "test": {"per_class": dict.fromkeys(counts)},
            }
        ]

    assert rare_classes(finished({"normal": 9, "DoS": 8, "Probe": 7, "R2L": 2, "U2R": 1}), "nsl-kdd", "multiclass") == [
        "R2L",
        "U2R",
    ]
    assert rare_classes(finished({"normal": 1, "DoS": 2, "Probe": 3, "R2L": 40, "U2R": 50}), "nsl-kdd", "multiclass") == [
        "DoS",
        "Probe",
    ]
    binary = finished({"normal": 9, "DoS": 8, "R2L": 1}, task="binary")
    binary[0]["test"] = {"per_class": dict.fromkeys(["normal", "attack"])}
    assert rare_classes(binary, "nsl-kdd", "binary") == ["attack"]  # the only attack output, though it trained on families


def test_reading_says_what_balancing_raised_and_lowered(page):
    reading = page.split("## Reading", 1)[1].split("\n## ", 1)[0]
    smote = next(line for line in reading.splitlines() if line.startswith("- CNN - SMOTE against CNN - None"))
    assert "raised" in smote and "R2L recall by 0.875 (0.000 → 0.875)" in smote
    assert "lowered U2R recall by 0.500 (0.500 → 0.000)" in smote
    assert "official against random protocol" in reading


def test_reading_flags_a_difference_smaller_than_the_seed_spread(tmp_path):
    from trainer.report.prose import reading

    rows = [
        {
            "dataset": "nsl-kdd",
            "task": "multiclass",
            "protocol": "official",
            "split": "test",
            "architecture": "cnn",
            "balancing": b,
            "seed": s,
            "f1_macro": v,
        }
        for b, values in {"none": [0.40, 0.60], "ros": [0.45, 0.65]}.items()
        for s, v in enumerate(values)
    ]
    text = "\n".join(reading(pd.DataFrame(rows), {("nsl-kdd", "multiclass"): []}))
    assert "macro-F1 by 0.050 (0.500 → 0.550), within the seed-to-seed spread" in text


def test_page_states_provenance_omissions_and_links_existing_figures(page, tiny_experiment):
    assert "--seeds 0 1" in page and "CPU cores" in page and "Total wall time of the cells: 0.5 min" in page  # 16 cells x 2 s
    assert "the Spearman rank correlation with test macro-F1 is" in page and "for validation macro-F1" in page
    assert "finished between" in page and "From the first cell's start to the last cell's end" in page
    assert (
        "Every cell is smaller than a full-size run: a stratified sample of 100 rows of each file instead of all rows;"
        " at most 1 epochs instead of 15." in page
    )
    assert "- dataset nf-bot-iot-v2: none of its" in page and "- seed 2: none of its" in page
    assert "- balancing hybrid: none of its" in page and "- balancing smote" not in page
    figures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", page)
    assert (
        any("confusion-" in f for f in figures)
        and any("class-counts-" in f for f in figures)
        and any("fidelity-" in f for f in figures)
    )
    assert all((tiny_experiment / f).is_file() for f in figures)
    assert any("extra-test" in f for f in figures)  # KDDTest-21's bars
    assert not any("kddtest" in f.lower() for f in figures)  # a figure is never named like a data file


def test_gan_fidelity_is_tabulated_when_present(page):
    fidelity = page.split("## GAN fidelity", 1)[1]
    assert "| U2R | 995 | 0.200 | 0.600 | 0.050 | 0.100 | 0.300 | 0.500 | 0.900 |" in fidelity


def test_promotion_chooses_by_validation_not_test(tiny_experiment, tmp_path):
    results = pd.read_csv(tiny_experiment / "results.csv")
    official = results[(results.protocol == "official") & (results.split == "test") & (results.architecture == "cnn")]
    assert official.loc[official.f1_macro.idxmax(), "balancing"] == "ros"  # the fixture's test-best is not its validation-best

    artifacts = tmp_path / "artifacts"
    chosen = promote(tiny_experiment, artifacts)
    assert list(chosen) == ["nsl-kdd-multiclass-cnn"]
    assert chosen["nsl-kdd-multiclass-cnn"]["cell"] == "nsl-kdd-multiclass-official-cnn-smote-s0"  # seeds tie: the lower wins
    folder = artifacts / "nsl-kdd-multiclass-cnn"
    assert {p.name for p in folder.iterdir()} == {"metrics.json", "metadata.json", "model.onnx"}
    selection = json.loads((folder / "metrics.json").read_text())["selection"]
    assert set(selection["candidates"]) == {"none", "ros", "smote", "gan"} and selection["candidates"]["smote"]["1"] == 1.0
    why = json.loads((artifacts / "index.json").read_text())["defaults"]["nsl-kdd/multiclass"]["why"]
    assert "promoted from experiment cell nsl-kdd-multiclass-official-cnn-smote-s0" in why

    promote(tiny_experiment, artifacts)  # promoting again replaces the folder and leaves no staging copy
    assert sorted(p.name for p in artifacts.iterdir()) == ["index.json", "nsl-kdd-multiclass-cnn"]


def test_cli_reports_a_missing_folder_in_one_line(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_cli_writes_the_report_and_promotes(tiny_experiment, tmp_path):
    assert main(["report", "--out", str(tiny_experiment), "--promote", "--artifacts", str(tmp_path / "shipped")]) == 0
    assert (tiny_experiment / "README.md").is_file() and (tmp_path / "shipped" / "index.json").is_file()


def test_losses_and_validation_kinds_are_rows_of_their_own(tmp_path, fake_trainer):
    found = experiment.cells(
        ["nsl-kdd"], ["multiclass"], ["official"], ["cnn"], ["smote"], [0], ["crossentropy", "focal"], ["random", "subtypes"]
    )
    out = tmp_path / "experiment"
    experiment.run_matrix(found, out, tmp_path, epochs=1, limit_rows=None, extra=[])
    page = write_report(out).read_text()
    table = _table(page, "nsl-kdd · multiclass · official protocol")
    assert set(table) == {
        "CNN - SMOTE",
        "CNN - SMOTE + focal",
        "CNN - SMOTE (random validation)",
        "CNN - SMOTE + focal (random validation)",
    }
    # validation scores compare only cells validated alike: one choice (and rank correlation) per validation kind
    assert re.findall(r"### Best model by validation macro-F1 \((\w+) validation\)\n\n.*chosen among (\d) cells", page) == [
        ("random", "2"),
        ("subtypes", "2"),
    ]
