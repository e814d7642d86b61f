"""The page's opening: how the experiment ran (command, seeds, settings, time, machine) and what it left out of the
full matrix."""

import itertools
import os
import platform
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from preprocess.defaults import ARCHITECTURES, BALANCE_UNITS, BALANCINGS, GAN_SECONDS, LOSSES, PROTOCOLS, SCALINGS
from trainer import splits
from trainer.experiment import CELL_OPTIONS, FULL_DATASETS, FULL_EPOCHS, QUICK_EPOCHS, QUICK_GAN, QUICK_ROWS, Cell, cells
from trainer.report.common import CELL_FIELDS, ordered

# The full matrix (every dataset a product model is trained on, every protocol, architecture and balancing, at
# least this many seeds); the page lists what a run left out of it.
MIN_SEEDS = 3


def header(out: Path, finished: list[dict]) -> list[str]:
    seeds = sorted({m["cell"]["seed"] for m in finished})
    # A file's mtime is no record (a git checkout resets it); cells from before runs kept the time have none.
    ends = [m["cell"].get("finished_at") for m in finished]
    settings = {
        key: sorted({str(m["config"].get(key, 0)) for m in finished})
        for key in ("epochs", "limit_rows", "class_floor", "gan_epochs", "gan_seconds")
    }
    wall = sum(m["training"]["total_seconds"] for m in finished)
    if None in ends:
        when, span_text = "", "The cells' finish times were not recorded."
    else:
        span = max(ends) - min(t - m["training"]["total_seconds"] for t, m in zip(ends, finished, strict=False))
        when = f" (finished between {_when(min(ends))} and {_when(max(ends))})"
        span_text = (
            f"From the first cell's start to the last cell's end: {span / 60:.1f} min"
            " (start-up included, and any pause between resumed runs)."
        )
    return [
        "# Experiment report: balancing methods x architectures",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M %Z')} from `results.csv` and the {len(finished)} finished cells in `cells/`"
        f"{when}; regenerate with `python -m trainer report --out {out}`.",
        "",
        f"- Experiment command (rebuilt from the cells' settings): `{_experiment_command(finished, out)}`",
        f"- One cell's own command, for example: `python {finished[0]['cell']['command']}`",
        f"- Seeds: {', '.join(map(str, seeds))}. Settings across cells: "
        + "; ".join(f"{key} {' / '.join(values)}" for key, values in settings.items()),
        f"- Total wall time of the cells: {wall / 60:.1f} min (sum of each cell's measured run time; process start-up and"
        f" TensorFlow import are not included). {span_text}",
        f"- Machine that generated this page: {os.cpu_count()} CPU cores, {platform.machine()}, {platform.system()},"
        f" Python {platform.python_version()}, TensorFlow {_version('tensorflow', 'tensorflow-cpu')}.",
        f"- Splits ({splits.__name__}): {' '.join(splits.__doc__.split())}",
        "",
        "### Left out relative to the full matrix",
        "",
        *_reduced(finished),
        *_omitted(finished),
        "",
    ]


def _reduced(finished: list[dict]) -> list[str]:
    """What each cell gave up against a full-size cell (all rows, the experiment's default epochs and GAN budget)."""
    config = finished[0]["config"]
    cuts = []
    if config.get("limit_rows"):
        floor = config.get("class_floor") or 0
        cuts.append(
            f"a stratified sample of {config['limit_rows']:,} rows of each file instead of all rows"
            + (f", topped up to at least {floor} rows of every class (all rows of a smaller one)" if floor else "")
        )
    if config["epochs"] < FULL_EPOCHS:
        cuts.append(f"at most {config['epochs']} epochs instead of {FULL_EPOCHS}")
    if config["gan_seconds"] < GAN_SECONDS:
        cuts.append(f"a GAN budget of {config['gan_seconds']:g} s instead of {GAN_SECONDS:g} s")
    return [f"Every cell is smaller than a full-size run: {'; '.join(cuts)}.", ""] if cuts else []


def _experiment_command(finished: list[dict], out: Path) -> str:
    parts = ["python -m trainer experiment"]
    flags = {
        "datasets": "dataset",
        "tasks": "task",
        "protocols": "protocol",
        "archs": "architecture",
        "balances": "balancing",
        "seeds": "seed",
    }
    for flag, key in flags.items():
        parts += [f"--{flag}", *map(str, ordered({m["cell"][key] for m in finished}, PROTOCOLS + ARCHITECTURES + BALANCINGS))]
    optional = (
        ("balance-by", "balance_by", BALANCE_UNITS[0]),
        ("losses", "loss", LOSSES[0]),
        ("scalings", "scaling", SCALINGS[0]),
    )
    for flag, key, default in optional:
        chosen = {m["cell"].get(key, default) for m in finished}  # older cells: the default
        if chosen != {default}:
            parts += [f"--{flag}", *ordered(chosen, BALANCE_UNITS + LOSSES + SCALINGS)]

    def values(key):
        return {m["config"].get(key) for m in finished} - {None, 0}

    epochs, limits = values("epochs"), values("limit_rows")
    quick = epochs == {QUICK_EPOCHS} and limits == {QUICK_ROWS}
    if quick:
        parts.append("--quick")
    else:
        parts += ["--epochs", "/".join(map(str, sorted(epochs)))]
        parts += ["--limit-rows", "/".join(map(str, sorted(limits)))] if limits else []
    for flag, key in CELL_OPTIONS.items():
        chosen = values(key)
        if chosen and not (quick and chosen == {QUICK_GAN.get(flag)}):
            parts += [flag, "/".join(f"{v:g}" for v in sorted(chosen))]
    return " ".join([*parts, "--out", str(out)])


def _omitted(finished: list[dict]) -> list[str]:
    present = {Cell(**{k: m["cell"][k] for k in CELL_FIELDS if k in m["cell"]}) for m in finished}  # older cells: default loss
    tasks = sorted({c.task for c in present} | {"multiclass"})
    seeds = sorted({c.seed for c in present})
    unused = (s for s in itertools.count() if s not in seeds)
    seeds = sorted(seeds + [next(unused) for _ in range(MIN_SEEDS - len(seeds))])  # the lowest unused seeds fill up to MIN_SEEDS
    full = set(cells(FULL_DATASETS, tasks, PROTOCOLS, ARCHITECTURES, BALANCINGS, seeds))
    missing = full - present
    if not missing:
        return [f"Nothing: all {len(full)} cells of the full matrix ran."]
    lines = [
        f"{len(missing)} of the {len(full)} cells of the full matrix ({', '.join(FULL_DATASETS)}; tasks {', '.join(tasks)};"
        f" protocols {', '.join(PROTOCOLS)}; {', '.join(ARCHITECTURES)}; {', '.join(BALANCINGS)};"
        f" seeds {', '.join(map(str, seeds))}) did not run:",
        "",
    ]
    explained = set()
    for dimension in CELL_FIELDS:
        for value in sorted({getattr(c, dimension) for c in full}):
            whole = {c for c in full if getattr(c, dimension) == value}
            if whole <= missing:
                lines.append(f"- {dimension} {value}: none of its {len(whole)} cells")
                explained |= whole
    return lines + [f"- {c.name}" for c in sorted(missing - explained, key=lambda c: c.name)]


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def _version(*distributions: str) -> str:
    """The installed version of the first of these distribution names found (TensorFlow ships under several)."""
    for name in distributions:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return "not installed"
