"""`trainer report`: an experiment folder's README.md (tables, figures, a generated reading), and promotion of
the cells chosen by validation macro-F1 into artifacts/.

Every number on the page is read from results.csv and the cells' metrics.json. Choosing (the best model whose
confusion matrix is shown, the model promoted) uses the validation split only; test results are reported, never
used to choose.
"""

import itertools
import json
import os
import platform
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from preprocess.defaults import ARCHITECTURES, GAN_SECONDS, PROTOCOLS
from preprocess.defaults import BALANCINGS as METHODS

from trainer import plots, splits
from trainer.artifacts import SELECTION_RULE, update_index
from trainer.datasets import DATASETS
from trainer.experiment import CELL_OPTIONS, FULL_DATASETS, FULL_EPOCHS, QUICK_EPOCHS, QUICK_GAN, QUICK_ROWS, Cell, cells

ARCH_LABELS = {"cnn": "CNN", "cnn-lstm": "CNN + LSTM"}
BALANCING_LABELS = {"none": "None", "ros": "ROS", "smote": "SMOTE", "adasyn": "ADASYN", "gan": "GAN", "hybrid": "Data Balancing"}
BASELINE = "random-forest"  # the architecture experiment.write_results gives the baseline's rows
BASELINE_LABEL = "Random forest (baseline)"
PAPER_METRICS = {"accuracy": "Accuracy", "f1_weighted": "F1", "recall_weighted": "Recall", "precision_weighted": "Precision"}
MAIN_SPLIT = "test"
# The rare classes shown beside each table: this many attack classes with the fewest training rows. A share
# threshold cannot work: NF-BoT-IoT-v2's Reconnaissance holds about the same share of rows as NSL-KDD's Probe.
RARE_CLASSES_SHOWN = 2
DECIMALS = 3
TIE_BREAK = "ties go to the lower seed, then the balancing name in alphabetical order"
# The full matrix (every dataset a product model is trained on, every protocol, architecture and balancing, at
# least this many seeds); the page lists what a run left out of it.
MIN_SEEDS = 3
CELL_FIELDS = ("dataset", "task", "protocol", "architecture", "balancing", "seed")


def write_report(out: Path) -> Path:
    """Write <out>/README.md and <out>/figures/ from <out>/results.csv and <out>/cells/; return the page's path."""
    results, finished = _load(out)
    figures = out / "figures"
    figures.mkdir(exist_ok=True)
    for stale in figures.glob("*.png"):  # every figure is redrawn; one for a cell set that changed must not linger
        stale.unlink()
    rare = {key: rare_classes(finished, *key) for key in _keys(results, ["dataset", "task"])}
    page = [
        *_header(out, finished),
        "## Reading (generated from the numbers below)",
        "",
        *reading(results, rare),
    ]
    for dataset, task, protocol in _keys(results, ["dataset", "task", "protocol"]):
        page += [f"## {dataset} · {task} · {protocol} protocol", ""]
        for number, split in enumerate(_splits(results, dataset, task, protocol)):
            frame = _select(results, dataset=dataset, task=task, protocol=protocol, split=split)
            classes, normal = rare[(dataset, task)], DATASETS[dataset].normal_class[task]
            support = _test_support(finished, dataset, task, protocol, split)
            # Numbered, not named after the split: a split is named after its data file, a figure must not be.
            figure = figures / f"methods-{dataset}-{task}-{protocol}-{'test' if split == MAIN_SPLIT else f'extra-test-{number}'}.png"
            title = f"{dataset} {task}, {protocol} protocol, {_split_label(split)}: mean over seeds, whiskers one std"
            _method_bars(frame, classes, title, figure)
            page += [
                f"### {_split_label(split)}",
                "",
                *performance_table(frame, classes, support),
                "",
                "Mean ± sample standard deviation over seeds (a single seed shows its value alone); precision, recall and F1"
                " are weighted by class support, macro-F1 weighs every class equally. Test rows: "
                + ", ".join(f"{c} {support.get(c, '0')}" for c in [normal, *classes])
                + f" ({normal} rows are the false-alarm rate's base).",
                "",
                f"![balancing methods compared]({figure.relative_to(out)})",
                "",
            ]
        page += _best_model(out, finished, dataset, task, protocol, figures)
    page += _class_counts(out, finished, figures)
    page += _fidelity(out, finished, figures)
    page += _cost_table(finished)
    path = out / "README.md"
    path.write_text("\n".join(page) + "\n")
    return path


def promote(out: Path, artifacts: Path) -> dict:
    """Per dataset, task and architecture, copy the official-protocol cell with the best validation macro-F1 into
    artifacts/<dataset>-<task>-<architecture>/, record why in its metrics.json, and refresh artifacts/index.json."""
    _, finished = _load(out)
    groups: dict[tuple, list[dict]] = {}
    for metrics in finished:
        cell = metrics["cell"]
        if cell["protocol"] == "official":
            groups.setdefault((cell["dataset"], cell["task"], cell["architecture"]), []).append(metrics)
    if not groups:
        raise ValueError(f"{out}: no finished official-protocol cells to promote")
    artifacts.mkdir(parents=True, exist_ok=True)
    selections = {}
    for (dataset, task, architecture), candidates in sorted(groups.items()):
        best = choose(candidates)
        chosen = best["cell"]
        selection = {
            "rule": f"{SELECTION_RULE}, among the official-protocol cells of this dataset, task and architecture; {TIE_BREAK}",
            "experiment": str(out.resolve()),
            "cell": chosen["name"],
            "balancing": chosen["balancing"],
            "seed": chosen["seed"],
            "validation_f1_macro": best["validation"]["f1_macro"],
            "candidates": {},
        }
        for m in sorted(candidates, key=lambda m: (m["cell"]["balancing"], m["cell"]["seed"])):
            selection["candidates"].setdefault(m["cell"]["balancing"], {})[str(m["cell"]["seed"])] = m["validation"]["f1_macro"]
        target = artifacts / f"{dataset}-{task}-{architecture}"
        # Staged beside the target and swapped in whole, so a failed copy never leaves a half-replaced model.
        staging = target.with_name(target.name + ".promoting")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(_model_dir(out, chosen["name"]), staging)
        metrics = json.loads((staging / "metrics.json").read_text())
        metrics["selection"] = selection
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        selections[target.name] = selection
    update_index(artifacts)
    return selections


def choose(candidates: list[dict]) -> dict:
    """The cell with the highest validation macro-F1; ties go to the lower seed, then the balancing name."""
    cell = lambda m: m["cell"]  # noqa: E731
    return min(candidates, key=lambda m: (-m["validation"]["f1_macro"], cell(m)["seed"], cell(m)["balancing"], cell(m)["architecture"]))


def rare_classes(finished: list[dict], dataset: str, task: str) -> list[str]:
    """The task's attack classes with the fewest training rows (before balancing, summed over the cells), in the
    dataset's class order. A binary task has one attack class; its models train on families, so it has no count."""
    ours = _cells_of(finished, dataset=dataset, task=task)
    counts = Counter()
    for m in ours:
        counts.update(m["split"]["class_counts"]["train"])
    attacks = {c for m in ours for c in m["test"]["per_class"]} - {DATASETS[dataset].normal_class[task]}
    rarest = sorted(attacks, key=lambda c: (counts[c], c))[:RARE_CLASSES_SHOWN]
    return _ordered(rarest, DATASETS[dataset].classes(task))


def mean_std(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "–"
    if len(values) == 1:
        return f"{values.iloc[0]:.{DECIMALS}f}"
    return f"{values.mean():.{DECIMALS}f} ± {values.std():.{DECIMALS}f}"  # pandas' std is the sample std (ddof=1)


def performance_table(frame: pd.DataFrame, rare: list[str], support: dict[str, str]) -> list[str]:
    """The paper's performance table (rows "CNN - SMOTE", ...; weighted accuracy/F1/recall/precision), with macro-F1,
    false-alarm rate and the rare classes' recall beside it. `frame`: the results rows of one test split."""
    header = ["Model", "Seeds", *PAPER_METRICS.values(), "Macro-F1", "False-alarm rate", *(f"{c} recall" for c in rare)]
    lines = [_markdown_row(header), _markdown_row(["---"] * len(header))]
    for architecture, balancing in _models(frame):
        rows = _select(frame, architecture=architecture, balancing=balancing)
        row = [_model_label(architecture, balancing), str(rows["seed"].nunique())]
        row += [mean_std(rows[m]) for m in [*PAPER_METRICS, "f1_macro", "false_alarm_rate"]]
        row += [mean_std(_column(rows, f"recall_{c}")) if support.get(c) else "no test rows" for c in rare]
        lines.append(_markdown_row(row))
    return lines


def reading(results: pd.DataFrame, rare: dict[tuple, list[str]]) -> list[str]:
    """Plain words, generated: what each balancing did to macro-F1 and the rare classes' recall against no balancing
    of the same architecture, whether the seeds support it, and how the two nsl-kdd protocols compare."""
    lines = []
    if results["seed"].nunique() < 2:
        lines += ["Every model ran with one seed only, so no difference below can be told apart from seed-to-seed noise.", ""]
    main = results[results["split"] == MAIN_SPLIT]
    for dataset, task, protocol in _keys(main, ["dataset", "task", "protocol"]):
        frame = _select(main, dataset=dataset, task=task, protocol=protocol)
        classes = rare[(dataset, task)]
        headline = _headline_metrics(classes)
        measured = {m: name for m, name in headline.items() if _column(frame, m).notna().any()}
        lines += [
            f"**{dataset} · {task} · {protocol} protocol, {_split_label(MAIN_SPLIT)}** (rare classes, the {len(classes)} attack"
            f" classes with the fewest training rows: {', '.join(classes)})",
            "",
        ]
        if len(measured) < len(headline):
            missing = [name for m, name in headline.items() if m not in measured]
            lines.append(f"- Not measurable here, the test split has no rows of the class: {', '.join(missing)}.")
        winners = []
        for architecture, balancing in _models(frame):
            if balancing == "none" or architecture == BASELINE:
                continue
            label, reference = _model_label(architecture, balancing), _model_label(architecture, "none")
            none = _select(frame, architecture=architecture, balancing="none")
            if none.empty:
                lines.append(f"- {label}: {reference} did not run, nothing to compare with.")
                continue
            rows = _select(frame, architecture=architecture, balancing=balancing)
            changes = [_change(name, _column(none, m), _column(rows, m)) for m, name in measured.items()]
            alarms = _change("the false-alarm rate", _column(none, "false_alarm_rate"), _column(rows, "false_alarm_rate"))
            alarms_text = f"It {_sentence([alarms])}" if alarms.sign else "The" + _sentence([alarms]).removeprefix("the")
            lines.append(f"- {label} against {reference}: {_sentence(changes)}. {alarms_text}.")
            if all(c.sign > 0 for c in changes):
                winners.append(f"{label} ({_strength(changes)})")
        names = list(measured.values())
        against = f"on {', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else f"on {names[0]}"
        if winners:
            lines.append(f"- Beat the unbalanced model of the same architecture {against}: {', '.join(winners)}.")
        else:
            lines.append(f"- No balanced model beat the unbalanced one of the same architecture {against}.")
        lines += [*_baseline_sentence(frame), ""]
    for dataset, task in _keys(main, ["dataset", "task"]):
        lines += _protocol_comparison(results, dataset, task, rare[(dataset, task)])
    return lines


@dataclass(frozen=True)
class Change:
    sign: int  # of the difference as shown, rounded to DECIMALS
    seeds: int  # the fewer seeds of the two sides
    shown: bool  # larger than the seed-to-seed spread, with at least two seeds a side
    words: str  # to follow "raised" or "lowered", or a whole clause when sign is 0


def _change(name: str, before: pd.Series, after: pd.Series) -> Change:
    a, b = before.dropna(), after.dropna()
    if a.empty or b.empty:
        return Change(0, 0, False, f"{name} not measured")
    seeds, spread = min(len(a), len(b)), max(a.std(), b.std())
    delta = round(b.mean() - a.mean(), DECIMALS)
    if delta == 0:
        return Change(0, seeds, False, f"{name} stayed at {a.mean():.{DECIMALS}f}")
    words = f"{name} by {abs(delta):.{DECIMALS}f} ({a.mean():.{DECIMALS}f} → {b.mean():.{DECIMALS}f})"
    shown = seeds >= 2 and abs(delta) > spread
    if seeds < 2:
        words += ", one seed"
    elif not shown:
        words += f", within the seed-to-seed spread (std up to {spread:.{DECIMALS}f}), so not shown to be real"
    return Change(1 if delta > 0 else -1, seeds, shown, words)


def _strength(changes: list[Change]) -> str:
    if min(c.seeds for c in changes) < 2:
        return "one seed"
    return "every gain beyond the seed spread" if all(c.shown for c in changes) else "not every gain beyond the seed spread"


def _sentence(changes: list[Change]) -> str:
    """"raised a; b; lowered c; d stayed at x", from changes in any order."""
    raised = [c.words for c in changes if c.sign > 0]
    lowered = [c.words for c in changes if c.sign < 0]
    parts = [f"raised {'; '.join(raised)}"] * bool(raised) + [f"lowered {'; '.join(lowered)}"] * bool(lowered)
    return "; ".join(parts + [c.words for c in changes if c.sign == 0])


def _baseline_sentence(frame: pd.DataFrame) -> list[str]:
    baseline = _column(_select(frame, architecture=BASELINE), "f1_macro").dropna()
    neural = frame[frame["architecture"] != BASELINE].groupby(["architecture", "balancing"])["f1_macro"].mean()
    if baseline.empty or neural.empty:
        return []
    below = int((neural < baseline.mean()).sum())
    return [f"- The random-forest baseline's macro-F1 ({baseline.mean():.{DECIMALS}f}) is above {below} of the {len(neural)} neural models' means."]


def _protocol_comparison(results: pd.DataFrame, dataset: str, task: str, rare: list[str]) -> list[str]:
    """The same models under both protocols: how much easier is the random split than the official one?"""
    frame = _select(results, dataset=dataset, task=task)
    means = {
        p: _select(frame, protocol=p, split=MAIN_SPLIT).groupby(["architecture", "balancing"]).mean(numeric_only=True)
        for p in PROTOCOLS
    }
    shared = means["official"].index.intersection(means["random"].index)
    if shared.empty:
        return []
    baseline = " (the random-forest baseline among them)" if BASELINE in shared.get_level_values("architecture") else ""
    heading = f"**{dataset} · {task}: official against random protocol**, {_split_label(MAIN_SPLIT)}"
    lines = [f"{heading}: {len(shared)} models ran under both{baseline}.", ""]
    for metric, name in ({"accuracy": "accuracy"} | _headline_metrics(rare)).items():
        if metric not in means["official"]:
            continue
        official, random = means["official"].loc[shared, metric], means["random"].loc[shared, metric]
        higher = int((random > official).sum())
        lines.append(
            f"- {name}: {random.mean():.{DECIMALS}f} on the random split against {official.mean():.{DECIMALS}f} on the official"
            f" test split (average over the models); the random split scored higher for {higher} of {len(shared)} models."
        )
    for split in _splits(frame, dataset, task, "official"):
        if split != MAIN_SPLIT:
            extra = _select(frame, protocol="official", split=split)
            lines.append(f"- On {_split_label(split)} (official protocol) macro-F1 averages {extra['f1_macro'].mean():.{DECIMALS}f} over all models.")
    return lines + [""]


def _header(out: Path, finished: list[dict]) -> list[str]:
    seeds = sorted({m["cell"]["seed"] for m in finished})
    # A file's mtime is no record (a git checkout resets it); cells from before runs kept the time have none.
    ends = [m["cell"].get("finished_at") for m in finished]
    settings = {key: sorted({str(m["config"].get(key, 0)) for m in finished}) for key in ("epochs", "limit_rows", "class_floor", "gan_epochs", "gan_seconds")}
    wall = sum(m["training"]["total_seconds"] for m in finished)
    if None in ends:
        when, span_text = "", "The cells' finish times were not recorded."
    else:
        span = max(ends) - min(t - m["training"]["total_seconds"] for t, m in zip(ends, finished))
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
    flags = {"datasets": "dataset", "tasks": "task", "protocols": "protocol", "archs": "architecture", "balances": "balancing", "seeds": "seed"}
    for flag, key in flags.items():
        parts += [f"--{flag}", *map(str, _ordered({m["cell"][key] for m in finished}, PROTOCOLS + ARCHITECTURES + METHODS))]
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
    return " ".join(parts + ["--out", str(out)])


def _omitted(finished: list[dict]) -> list[str]:
    present = {Cell(**{k: m["cell"][k] for k in CELL_FIELDS}) for m in finished}
    tasks = sorted({c.task for c in present} | {"multiclass"})
    seeds = sorted({c.seed for c in present})
    unused = (s for s in itertools.count() if s not in seeds)
    seeds = sorted(seeds + [next(unused) for _ in range(MIN_SEEDS - len(seeds))])  # the lowest unused seeds fill up to MIN_SEEDS
    full = set(cells(FULL_DATASETS, tasks, PROTOCOLS, ARCHITECTURES, METHODS, seeds))
    missing = full - present
    if not missing:
        return [f"Nothing: all {len(full)} cells of the full matrix ran."]
    lines = [
        f"{len(missing)} of the {len(full)} cells of the full matrix ({', '.join(FULL_DATASETS)}; tasks {', '.join(tasks)};"
        f" protocols {', '.join(PROTOCOLS)}; {', '.join(ARCHITECTURES)}; {', '.join(METHODS)};"
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


def _best_model(out: Path, finished: list[dict], dataset: str, task: str, protocol: str, figures: Path) -> list[str]:
    candidates = _cells_of(finished, dataset=dataset, task=task, protocol=protocol)
    best = choose(candidates)
    cell = best["cell"]
    figure = figures / f"confusion-{dataset}-{task}-{protocol}.png"
    plots.confusion_matrix_png(best["test"], f"{cell['name']} (best validation macro-F1), on the test split", figure)
    return [
        "### Best model by validation macro-F1",
        "",
        f"{_model_label(cell['architecture'], cell['balancing'])}, seed {cell['seed']}: validation macro-F1"
        f" {best['validation']['f1_macro']:.{DECIMALS}f} (chosen among {len(candidates)} cells; {TIE_BREAK}). Its test"
        f" macro-F1 is {best['test']['f1_macro']:.{DECIMALS}f}. {_validation_predicts_test(candidates, best)} Confusion matrix on the test split:",
        "",
        f"![confusion matrix]({figure.relative_to(out)})",
        "",
    ]


def _validation_predicts_test(candidates: list[dict], best: dict) -> str:
    """Whether choosing by validation can work here: a validation split unlike the test split ranks the cells differently."""
    validation = pd.Series([m["validation"]["f1_macro"] for m in candidates])
    test = pd.Series([m["test"]["f1_macro"] for m in candidates])
    if len(candidates) < 3 or validation.nunique() < 2 or test.nunique() < 2:
        return ""  # no ranking to compare
    rank = int((test > best["test"]["f1_macro"]).sum()) + 1
    return (
        f"Over these {len(candidates)} cells the Spearman rank correlation of validation and test macro-F1 is"
        f" {validation.corr(test, method='spearman'):.2f}; the chosen cell's test macro-F1 ranks {rank} of {len(candidates)}."
    )


def _class_counts(out: Path, finished: list[dict], figures: Path) -> list[str]:
    """Balancing does not depend on the architecture, so one protocol and seed per dataset and task shows it."""
    lines = ["## Training rows per class before and after balancing", ""]
    for dataset, task in sorted({(m["cell"]["dataset"], m["cell"]["task"]) for m in finished}):
        ours = _cells_of(finished, dataset=dataset, task=task)
        first = min(ours, key=lambda m: (_rank(m["cell"]["protocol"], PROTOCOLS), m["cell"]["seed"], _rank(m["cell"]["architecture"], ARCHITECTURES)))["cell"]
        same_run = _cells_of(ours, protocol=first["protocol"], architecture=first["architecture"], seed=first["seed"])
        shown = {m["cell"]["balancing"]: m["balancing"] for m in same_run}
        series = {"before balancing": same_run[0]["balancing"]["counts_before"]}
        series |= {BALANCING_LABELS.get(b, b): shown[b]["counts_after"] for b in _ordered(shown, METHODS) if b != "none"}
        where = f"{first['protocol']} protocol, seed {first['seed']}"
        figure = figures / f"class-counts-{dataset}-{task}.png"
        plots.bar_chart_png(series, f"{dataset} {task}: training rows per class ({where})", figure)
        before = series["before balancing"]
        lines += [f"### {dataset} · {task} ({where})", "", _markdown_row(["Class", *series]), _markdown_row(["---"] * (len(series) + 1))]
        lines += [_markdown_row([c, *(str(counts.get(c, 0)) for counts in series.values())]) for c in sorted(before, key=lambda c: -before[c])]
        lines += ["", f"![class counts]({figure.relative_to(out)})", ""]
        fallbacks = sorted({(m["cell"]["balancing"], c, why) for m in ours for c, why in m["balancing"].get("fallbacks", {}).items()})
        if fallbacks:
            lines += ["Fallbacks (a class too small for the method, in any cell):", ""]
            lines += [f"- {BALANCING_LABELS.get(b, b)}, {c}: {why}" for b, c, why in fallbacks] + [""]
    return lines


def _fidelity(out: Path, finished: list[dict], figures: Path) -> list[str]:
    """GAN fidelity per dataset/task/protocol/method, averaged over the cells that measured it (seeds, architectures)."""
    groups: dict[tuple, list[dict]] = {}
    for m in finished:
        if _dig(m["balancing"], "gan", "fidelity"):
            groups.setdefault(tuple(m["cell"][k] for k in ("dataset", "task", "protocol", "balancing")), []).append(m["balancing"]["gan"])
    lines = ["## GAN fidelity", ""]
    if not groups:
        return lines + ["No cell measured GAN fidelity (no gan or hybrid balancing ran, or its report holds no fidelity).", ""]
    distances = {"ks_mean": "KS mean", "ks_max": "KS max", "wasserstein_mean": "Wasserstein mean", "tv_mean": "TV mean", "tv_max": "TV max"}
    arms = {"synthetic": "trained on synthetic", "real": "trained on real"}
    for (dataset, task, protocol, balancing), gans in sorted(groups.items()):
        reports = [gan["fidelity"] for gan in gans]
        classes = sorted({c for r in reports for c in r.get("per_class", {})})
        distance = {c: {name: _average(_dig(r, "per_class", c, key) for r in reports) for key, name in distances.items()} for c in classes}
        recall = {c: {name: _average(_dig(r, "tstr", arm, "recall", c) for r in reports) for arm, name in arms.items()} for c in classes}
        accuracy = {name: _average(_dig(r, "tstr", arm, "accuracy") for r in reports) for arm, name in arms.items()}
        synthetic = {c: _average(_dig(r, "per_class", c, "n_synthetic") for r in reports) for c in classes}
        label = f"{dataset} {task}, {protocol} protocol, {BALANCING_LABELS.get(balancing, balancing)}"
        figure = figures / f"fidelity-{dataset}-{task}-{protocol}-{balancing}.png"
        means = {c: {name: v for name, v in d.items() if "max" not in name} for c, d in distance.items()}
        plots.fidelity_png(means, recall, f"GAN fidelity: {label}", figure)
        header = ["Class", "Synthetic rows", *distances.values(), *(f"recall, {name}" for name in arms.values())]
        seconds, epochs = (_number(_average(g.get(k) for g in gans), decimals=0) for k in ("trained_seconds", "epochs_run"))
        trained = f"GAN trained {seconds} s, {epochs} epochs"
        lines += [f"### {label} ({len(gans)} cell{'s' * (len(gans) != 1)}; {trained}, mean over them)", ""]
        lines += [_markdown_row(header), _markdown_row(["---"] * len(header))]
        for c in classes:
            lines.append(_markdown_row([c, f"{synthetic[c]:.0f}", *map(_number, distance[c].values()), *map(_number, recall[c].values())]))
        lines += [
            "",
            "Distances per feature between synthetic and real rows of the class (0: the same distribution). Recall on real"
            " held-out rows of a random forest trained on the synthetic rows, against one trained on as many real rows;"
            " accuracy: " + ", ".join(f"{name} {_number(value)}" for name, value in accuracy.items()) + ".",
            "",
            f"![GAN fidelity]({figure.relative_to(out)})",
            "",
        ]
    return lines


def _cost_table(finished: list[dict]) -> list[str]:
    header = ["Cell", "Balancing (s)", "Fit (s)", "Epochs", "Total (s)", "Peak memory (MB)"]
    lines = ["## Training time and peak memory per cell", "", _markdown_row(header), _markdown_row(["---"] * len(header))]
    for m in sorted(finished, key=lambda m: m["cell"]["name"]):
        t = m["training"]
        values = [m["balancing"]["seconds"], t["fit_seconds"], t["epochs_run"], t["total_seconds"], t["peak_rss_mb"]]
        lines.append(_markdown_row([m["cell"]["name"], *map(str, values)]))
    return lines + ["", "Peak memory is the peak resident set size of the cell's own process."]


def _load(out: Path) -> tuple[pd.DataFrame, list[dict]]:
    path = out / "results.csv"
    if not path.is_file():
        raise ValueError(f"{path}: not found; run `trainer experiment --out {out}` first")
    results = pd.read_csv(path)
    finished = [json.loads(p.read_text()) for p in sorted((out / "cells").glob("*/metrics.json"))]
    if results.empty or not finished:
        raise ValueError(f"{out}: no finished cells to report on")
    return _without_empty_recalls(results, finished), finished


def _without_empty_recalls(results: pd.DataFrame, finished: list[dict]) -> pd.DataFrame:
    """A class with no rows in a test split has no recall there; evaluate() writes 0 for it, which would read as a miss."""
    support = {}
    for m in finished:
        cell = m["cell"]
        for split, scores in ({MAIN_SPLIT: m["test"]} | m.get("extra_tests", {})).items():
            for c, values in scores["per_class"].items():
                support[(cell["dataset"], cell["task"], cell["protocol"], cell["seed"], split, c)] = values["support"]
    rows = list(zip(results["dataset"], results["task"], results["protocol"], results["seed"], results["split"]))
    results = results.copy()
    for c in {key[-1] for key in support}:
        if f"recall_{c}" in results:
            empty = [support.get((*row, c)) == 0 for row in rows]
            results.loc[empty, f"recall_{c}"] = float("nan")
    return results


def _model_dir(out: Path, cell_name: str) -> Path:
    return next((out / "cells" / cell_name / "run").glob("*/metrics.json")).parent


def _test_support(finished: list[dict], dataset: str, task: str, protocol: str, split: str) -> dict[str, str]:
    """Rows per class in a test split, as "489", or "480–492" when the seeds' samples differ."""
    seen: dict[str, set[int]] = {}
    for m in _cells_of(finished, dataset=dataset, task=task, protocol=protocol):
        scores = m["test"] if split == MAIN_SPLIT else m.get("extra_tests", {}).get(split, {})
        for c, values in scores.get("per_class", {}).items():
            seen.setdefault(c, set()).add(values["support"])
    return {c: (str(min(v)) if len(v) == 1 else f"{min(v)}–{max(v)}") for c, v in seen.items() if max(v) > 0}


def _method_bars(frame: pd.DataFrame, rare: list[str], title: str, path: Path) -> None:
    panels = {}
    for metric, name in _headline_metrics(rare).items():
        series = {}
        for architecture, balancing in _models(frame):
            if architecture != BASELINE:
                values = _column(_select(frame, architecture=architecture, balancing=balancing), metric).dropna()
                bars = series.setdefault(ARCH_LABELS.get(architecture, architecture), {})
                bars[BALANCING_LABELS.get(balancing, balancing)] = (values.mean(), values.std())
        panels[name] = series
    plots.method_bars_png(panels, title, path)


def _headline_metrics(rare: list[str]) -> dict[str, str]:
    """The numbers balancing is meant to move: macro-F1 and the rare classes' recall (results.csv column -> name)."""
    return {"f1_macro": "macro-F1"} | {f"recall_{c}": f"{c} recall" for c in rare}


def _models(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(architecture, balancing) in the paper's row order, the baseline last; unknown names after known ones."""
    pairs = set(zip(frame["architecture"], frame["balancing"]))
    architectures = _ordered({a for a, _ in pairs} - {BASELINE}, ARCHITECTURES)
    ordered = [(a, b) for a in architectures for b in _ordered({b for x, b in pairs if x == a}, METHODS)]
    return ordered + sorted(p for p in pairs if p[0] == BASELINE)


def _model_label(architecture: str, balancing: str) -> str:
    if architecture == BASELINE:
        return BASELINE_LABEL
    return f"{ARCH_LABELS.get(architecture, architecture)} - {BALANCING_LABELS.get(balancing, balancing)}"


def _split_label(split: str) -> str:
    return "test split" if split == MAIN_SPLIT else split.split(".")[0]


def _splits(results: pd.DataFrame, dataset: str, task: str, protocol: str) -> list[str]:
    found = set(_select(results, dataset=dataset, task=task, protocol=protocol)["split"])
    return [MAIN_SPLIT] * (MAIN_SPLIT in found) + sorted(found - {MAIN_SPLIT})


def _keys(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return sorted(set(frame[columns].itertuples(index=False, name=None)), key=lambda k: tuple(_rank(v, PROTOCOLS) for v in k))


def _select(frame: pd.DataFrame, **equal) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for column, value in equal.items():
        mask &= frame[column] == value
    return frame[mask]


def _column(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column] if column in frame else pd.Series(dtype=float)


def _cells_of(finished: list[dict], **equal) -> list[dict]:
    """The finished cells' metrics whose cell has every given field value."""
    return [m for m in finished if all(m["cell"][k] == v for k, v in equal.items())]


def _dig(nested: dict, *keys):
    """nested[k1][k2]..., or None where a level is missing (the GAN's report is optional and still evolving)."""
    for key in keys:
        nested = nested.get(key) if isinstance(nested, dict) else None
    return nested


def _rank(value, known) -> tuple:
    return (known.index(value) if value in known else len(known), value)


def _ordered(values, known) -> list:
    return sorted(values, key=lambda v: _rank(v, known))


def _average(values) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _number(value: float | None, decimals: int = DECIMALS) -> str:
    return "–" if value is None else f"{value:.{decimals}f}"


def _markdown_row(values: list[str]) -> str:
    return "| " + " | ".join(values) + " |"


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
