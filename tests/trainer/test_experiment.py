"""The experiment runner: resumable, one process per cell (each replaced here by conftest's FakeTrainer)."""

import pandas as pd

from preprocess.defaults import BALANCE_UNITS, SCALINGS
from trainer import experiment
from trainer.__main__ import parser
from trainer.report import common as report_common

MATRIX = (["nsl-kdd", "nf-bot-iot-v2"], ["multiclass"], ["official", "random"], ["cnn", "cnn-lstm"], ["none", "smote"], [0, 1])


def _run(found, out, data):
    experiment.run_matrix(found, out, data, epochs=1, limit_rows=None, extra=[])


def test_cells_skip_the_random_protocol_outside_nsl_kdd():
    found = experiment.cells(*MATRIX)
    assert len(found) == 2 * 2 * 2 * (2 + 1)  # archs x balancings x seeds x (nsl-kdd: 2 protocols, nf-bot-iot-v2: 1)
    assert not any(c.dataset == "nf-bot-iot-v2" and c.protocol == "random" for c in found)


def test_run_matrix_resumes_without_rerunning_finished_cells(tmp_path, fake_trainer):
    fake = fake_trainer
    found, out = experiment.cells(*MATRIX), tmp_path / "experiment"

    _run(found, out, tmp_path)
    assert sorted(fake.ran) == sorted(c.name for c in found)

    fake.ran.clear()
    _run(found, out, tmp_path)
    assert fake.ran == []

    lost = found[5]
    (out / "cells" / lost.name / "metrics.json").unlink()
    _run(found, out, tmp_path)
    assert fake.ran == [lost.name]


def test_results_have_a_row_per_cell_and_test_split_and_baselines_once(tmp_path, fake_trainer):
    found = experiment.cells(*MATRIX)
    _run(found, tmp_path / "experiment", tmp_path)
    results = pd.read_csv(tmp_path / "experiment" / "results.csv")
    models = results[~results.architecture.isin(["random-forest", "gradient-boosting"])]
    assert len(models) == len(found) and set(models.split) == {"test"}
    # The baselines ignore architecture and balancing: one row each per dataset, task, protocol and seed.
    assert len(results) - len(models) == 2 * sum(c.runs_baseline for c in found) == 2 * 3 * 2
    assert set(results.architecture) - set(models.architecture) == {"random-forest", "gradient-boosting"}
    assert {"recall_R2L", "recall_U2R"} <= set(results.columns)


def test_cells_are_passed_the_quick_gan_budget_unless_told_otherwise():
    assert experiment.passed_on(False, {}) == []
    assert experiment.passed_on(False, {"class_floor": 300, "gan_epochs": None, "gan_seconds": 40.0}) == [
        "--class-floor",
        "300",
        "--gan-seconds",
        "40.0",
    ]
    assert experiment.passed_on(True, {}) == ["--gan-epochs", "30", "--gan-seconds", "20"]
    assert experiment.passed_on(True, {"gan_epochs": 50}) == ["--gan-epochs", "50", "--gan-seconds", "20"]


def test_the_fast_recipe_reaches_every_cell():
    args = parser().parse_args(["experiment", "--balance-cap", "0.4", "--patience", "2"])
    assert experiment.passed_on(False, vars(args)) == ["--balance-cap", "0.4", "--patience", "2"]
    assert experiment.passed_on(False, vars(parser().parse_args(["experiment"]))) == []


def test_losses_and_validations_are_cells_whose_names_keep_the_defaults_unchanged(tmp_path, fake_trainer):
    found = experiment.cells(
        ["nsl-kdd"],
        ["multiclass"],
        ["official", "random"],
        ["cnn"],
        ["smote"],
        [0],
        ["crossentropy", "focal"],
        ["random", "subtypes"],
    )
    names = {c.name for c in found}
    assert names == {
        "nsl-kdd-multiclass-official-cnn-smote-s0",  # subtypes: the official protocol's default, unnamed as before
        "nsl-kdd-multiclass-official-cnn-smote-focal-s0",
        "nsl-kdd-multiclass-official-val-random-cnn-smote-s0",
        "nsl-kdd-multiclass-official-val-random-cnn-smote-focal-s0",
        "nsl-kdd-multiclass-random-cnn-smote-s0",  # subtypes do not apply to the random protocol
        "nsl-kdd-multiclass-random-cnn-smote-focal-s0",
    }
    _run(found, tmp_path / "experiment", tmp_path)
    assert sorted(fake_trainer.ran) == sorted(names)
    results = pd.read_csv(tmp_path / "experiment" / "results.csv")
    assert set(zip(results.protocol, results.validation, results.loss, strict=False)) == {
        ("official", "subtypes", "crossentropy"),
        ("official", "subtypes", "focal"),
        ("official", "random", "crossentropy"),
        ("official", "random", "focal"),
        ("random", "random", "crossentropy"),
        ("random", "random", "focal"),
    }


def test_scalings_are_cells_with_their_own_anchors_and_named_rows(tmp_path, fake_trainer):
    found = experiment.cells(["nf-bot-iot-v2"], ["multiclass"], ["official"], ["cnn"], ["none"], [0], scalings=SCALINGS)
    assert [c.name for c in found] == [
        "nf-bot-iot-v2-multiclass-official-cnn-none-s0",  # the default scaling keeps the name cells had before
        "nf-bot-iot-v2-multiclass-official-cnn-none-quantile-s0",
    ]
    assert all(c.runs_baseline for c in found)  # the trees read the encoding too: one set of anchors per scaling
    _run(found, tmp_path / "experiment", tmp_path)
    results = pd.read_csv(tmp_path / "experiment" / "results.csv")
    assert set(zip(results.architecture, results.scaling, strict=False)) == {
        (architecture, scaling) for architecture in ("cnn", "random-forest", "gradient-boosting") for scaling in SCALINGS
    }


def test_balancing_by_subtype_is_a_cell_of_the_per_class_samplers_only_with_its_own_named_rows(tmp_path, fake_trainer):
    found = experiment.cells(
        ["nsl-kdd"], ["multiclass"], ["official"], ["cnn"], ["none", "smote", "gan"], [0], balance_units=BALANCE_UNITS
    )
    assert [c.name for c in found] == [
        "nsl-kdd-multiclass-official-cnn-none-s0",
        "nsl-kdd-multiclass-official-cnn-smote-s0",  # balancing by family keeps the name cells had before
        "nsl-kdd-multiclass-official-cnn-smote-by-subtype-s0",
        "nsl-kdd-multiclass-official-cnn-gan-s0",  # the GAN fills families only: no subtype cell
    ]
    _run(found, tmp_path / "experiment", tmp_path)
    assert "--balance-by subtype" in " ".join(fake_trainer.commands[2])
    results = pd.read_csv(tmp_path / "experiment" / "results.csv")
    model_rows = results[results.architecture == "cnn"]
    assert set(zip(model_rows.balancing, model_rows.balance_by, strict=False)) == {
        ("none", "family"),
        ("smote", "family"),
        ("smote", "subtype"),
        ("gan", "family"),
    }
    # the report names the variant; the defaults keep their names
    assert sorted(report_common._variants_named(model_rows).balancing) == ["SMOTE by subtype", "gan", "none", "smote"]


def test_a_train_command_passes_switches_alone_and_leaves_out_unset_options():
    command = experiment.train_command(dataset="nsl-kdd", limit_rows=None, unknown_is_attack=True, no_baseline=False)
    assert command[1:] == ["-m", "trainer", "train", "--dataset", "nsl-kdd", "--unknown-is-attack"]


def test_every_shipped_recipe_is_a_command_the_trainer_accepts():
    from trainer.__main__ import SHIPPED, SHIPPED_BALANCING, parser

    for dataset, task, arch, epochs, options in SHIPPED:
        balancing, target = SHIPPED_BALANCING[dataset]
        options = dict(dataset=dataset, task=task, arch=arch, balance=balancing, balance_target=target, epochs=epochs, **options)
        args = parser().parse_args(experiment.train_command(**options)[3:])
        assert (args.dataset, args.task, args.arch, args.epochs) == (dataset, task, arch, epochs)
        assert args.unknown_is_attack == options.get("unknown_is_attack", False)
