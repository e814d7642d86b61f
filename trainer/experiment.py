"""`trainer experiment`: the matrix datasets x tasks x protocols x validations x architectures x balancing x balancing units x
losses x scalings x seeds.

Each cell is one `trainer train` run in its own process (so its peak memory is its own), written to
`<out>/cells/<cell>/`. A cell whose metrics.json exists is finished and never rerun, so an interrupted
matrix resumes where it stopped. Every finished cell becomes rows of `<out>/results.csv`. The balanced
training sets are cached under `<out>/balanced/` (`trainer.prepare.balance_training`), so the cells that
differ only in architecture or loss resample once.
"""

import csv
import itertools
import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from preprocess.defaults import ARCHITECTURES, BALANCE_UNITS, LOSSES, PER_CLASS_SAMPLERS, SCALINGS
from trainer.config import DIFFICULTY_WEIGHTED, default_validation, validation_kind
from trainer.summary import baselines_of

# The matrix `trainer experiment` runs when not told otherwise: the datasets a product model is trained on.
FULL_DATASETS = ("nsl-kdd", "nf-bot-iot-v2")
FULL_EPOCHS = 15
QUICK_ROWS = 4000  # per file, stratified: the whole quick matrix finishes in minutes
QUICK_EPOCHS = 2
QUICK_GAN = {"--gan-epochs": 30, "--gan-seconds": 20}
# The experiment's options that every cell's `trainer train` takes as they are: flag -> TrainConfig field.
CELL_OPTIONS = {
    "--class-floor": "class_floor",
    "--gan-epochs": "gan_epochs",
    "--gan-seconds": "gan_seconds",
    "--balance-cap": "balance_cap",
    "--patience": "patience",
}


def passed_on(quick: bool, options: dict) -> list[str]:
    """The cells' share of the experiment's options (field -> value, None when not given), as command-line parts."""
    chosen = {flag: options.get(field) for flag, field in CELL_OPTIONS.items()}
    if quick:
        chosen = QUICK_GAN | {flag: value for flag, value in chosen.items() if value is not None}
    return [str(part) for flag, value in chosen.items() if value is not None for part in (flag, value)]


@dataclass(frozen=True)
class Cell:
    dataset: str
    task: str
    protocol: str
    architecture: str
    balancing: str
    seed: int
    loss: str = LOSSES[0]
    validation: str | None = None  # None: the dataset and protocol's default (trainer.splits.default_validation)
    scaling: str = SCALINGS[0]
    balance_by: str = BALANCE_UNITS[0]

    @property
    def runs_baseline(self) -> bool:
        """The baselines ignore architecture, balancing and loss: fit once per dataset, task, protocol, validation, scaling
        and seed."""
        plain = self.balancing == "none" and self.balance_by == BALANCE_UNITS[0]
        return self.architecture == ARCHITECTURES[0] and plain and self.loss == LOSSES[0]

    @property
    def train_options(self) -> dict[str, object]:
        """This cell's own `trainer train` options; the run-wide ones (epochs, sample, folders) come from the matrix."""
        own = {"dataset": self.dataset, "task": self.task, "protocol": self.protocol, "arch": self.architecture}
        own |= {"balance": self.balancing, "balance_by": self.balance_by, "loss": self.loss, "scaling": self.scaling}
        return own | {"seed": self.seed, "validation": self.validation}

    @property
    def name(self) -> str:
        """Balancing unit, loss, scaling and validation join the name only when not the default, so the names of earlier
        cells still hold."""
        loss = f"-by-{self.balance_by}" if self.balance_by != BALANCE_UNITS[0] else ""
        loss += f"-{self.loss}" if self.loss != LOSSES[0] else ""
        loss += f"-{self.scaling}" if self.scaling != SCALINGS[0] else ""
        own = self.validation in (None, default_validation(self.dataset, self.protocol))
        validation = "" if own else f"-val-{self.validation}"
        return f"{self.dataset}-{self.task}-{self.protocol}{validation}-{self.architecture}-{self.balancing}{loss}-s{self.seed}"


def cells(
    datasets,
    tasks,
    protocols,
    architectures,
    balancings,
    seeds,
    losses=LOSSES[:1],
    validations=(None,),
    scalings=SCALINGS[:1],
    balance_units=BALANCE_UNITS[:1],
) -> list[Cell]:
    """`validations`: kinds to run where they apply (subtypes: nsl-kdd official only); None, the default, alone.
    `balance_units`: by subtype applies to the per-class samplers (ros, smote, adasyn) only."""
    found = []
    for dataset, task, protocol, validation, arch, balancing, unit, loss, scaling, seed in itertools.product(
        datasets, tasks, protocols, validations, architectures, balancings, balance_units, losses, scalings, seeds
    ):
        if unit != BALANCE_UNITS[0] and balancing not in PER_CLASS_SAMPLERS:
            continue
        if protocol == "random" and dataset != "nsl-kdd":
            continue  # the other datasets have one protocol, a stratified random split
        default = default_validation(dataset, protocol)
        if validation not in (None, default) and default == "random":
            continue  # held-out subtypes apply to nsl-kdd's official protocol only
        cell = Cell(dataset, task, protocol, arch, balancing, seed, loss, validation or default, scaling, unit)
        if cell not in found:
            found.append(cell)
    return found


def _bar(done: int, total: int, started: float, ran: int) -> str:
    filled = int(30 * done / total)
    elapsed = time.perf_counter() - started
    eta = f"{elapsed / ran * (total - done) / 60:.0f} min left" if ran else "estimating"
    return f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} cells, {elapsed / 60:.0f} min so far, {eta}"


def train_command(**options: object) -> list[str]:
    """`python -m trainer train` with these options in this order (underscores become dashes); None or False leaves
    one out, True passes a switch."""
    command = [sys.executable, "-m", "trainer", "train"]
    for name, value in options.items():
        flag = f"--{name.replace('_', '-')}"
        if value is True:
            command.append(flag)
        elif value is not None and value is not False:
            command += [flag, str(value)]
    return command


def run_matrix(cell_list: list[Cell], out: Path, data_dir: Path, epochs: int, limit_rows: int | None, extra: list[str]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    started, ran = time.perf_counter(), 0
    for i, cell in enumerate(cell_list):
        folder = out / "cells" / cell.name
        if (folder / "metrics.json").is_file():
            print(
                f"{_bar(i + 1, len(cell_list), started, ran)}  {cell.name}: finished earlier, kept", file=sys.stderr, flush=True
            )
            continue
        run_wide = {"epochs": epochs, "data_dir": data_dir, "out": folder / "run", "balanced_cache": out / "balanced"}
        command = train_command(**cell.train_options, **run_wide, limit_rows=limit_rows or None) + extra
        if not cell.runs_baseline:
            command.append("--no-baseline")
        print(f"{_bar(i, len(cell_list), started, ran)}  running {cell.name}", file=sys.stderr, flush=True)
        log = folder / "train.log"
        folder.mkdir(parents=True, exist_ok=True)
        with log.open("w") as stream:
            code = subprocess.call(command, stdout=stream, stderr=subprocess.STDOUT)
        if code != 0:
            raise RuntimeError(f"cell {cell.name} failed (exit {code}); see {log}")
        metrics = json.loads((model_dir(folder) / "metrics.json").read_text())
        metrics["cell"] = cell.__dict__ | {"name": cell.name, "command": shlex.join(command[1:]), "finished_at": time.time()}
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))  # written last: marks the cell finished
        ran += 1
    print(f"{_bar(len(cell_list), len(cell_list), started, max(ran, 1))}  done", file=sys.stderr, flush=True)
    return write_results(out)


RESULT_FIELDS = [
    "dataset",
    "task",
    "protocol",
    "validation",
    "architecture",
    "balancing",
    "balance_by",
    "loss",
    "scaling",
    "seed",
    "split",
    "accuracy",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
    "f1_macro",
    "recall_macro",
    "false_alarm_rate",
    "validation_f1_macro",
    "validation_f1_macro_difficulty_weighted",
    "fit_seconds",
    "peak_rss_mb",
    "balance_seconds",
]


def _rows_of(metrics: dict) -> list[dict]:
    cell = metrics["cell"]
    tests = {"test": metrics["test"]} | metrics.get("extra_tests", {})
    rows = []
    for model, source in [("model", metrics), *baselines_of(metrics).items()]:
        for split in tests:
            scores = source[split] if model != "model" else tests[split]
            row = {
                "dataset": cell["dataset"],
                "task": cell["task"],
                "protocol": cell["protocol"],
                "architecture": cell["architecture"] if model == "model" else model,
                "balancing": cell["balancing"] if model == "model" else "none",
                "balance_by": cell.get("balance_by", BALANCE_UNITS[0]) if model == "model" else "",
                "loss": cell.get("loss", LOSSES[0]) if model == "model" else "",
                "scaling": cell.get("scaling", SCALINGS[0]),  # the trees' rows too: they read the same encoding
                "validation": validation_kind(metrics),  # what ran
                "seed": cell["seed"],
                "split": split,
                "validation_f1_macro": source["validation"]["f1_macro"],
                "validation_f1_macro_difficulty_weighted": source["validation"].get(DIFFICULTY_WEIGHTED, ""),
                "fit_seconds": metrics["training"]["fit_seconds"] if model == "model" else source["fit_seconds"],
                "peak_rss_mb": metrics["training"]["peak_rss_mb"] if model == "model" else "",
                "balance_seconds": metrics["balancing"]["seconds"] if model == "model" else "",
            }
            row |= {k: scores[k] for k in RESULT_FIELDS if k in scores}
            row |= {f"recall_{c}": v["recall"] for c, v in scores["per_class"].items()}
            rows.append(row)
    return rows


def model_dir(cell_folder: Path) -> Path:
    """The model folder `trainer train` wrote for a cell."""
    return next((cell_folder / "run").glob("*/metrics.json")).parent


def finished_cells(out: Path) -> list[dict]:
    """Each finished cell's metrics (the model's metrics.json plus the cell's description), in cell-name order."""
    return [json.loads(path.read_text()) for path in sorted((out / "cells").glob("*/metrics.json"))]


def write_results(out: Path) -> Path:
    rows = []
    for metrics in finished_cells(out):
        rows += _rows_of(metrics)
    fields = RESULT_FIELDS + sorted({k for r in rows for k in r} - set(RESULT_FIELDS))
    path = out / "results.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path
