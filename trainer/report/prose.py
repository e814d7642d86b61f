"""The page's generated reading: plain sentences about what each balancing changed, whether the seeds support it,
how the two nsl-kdd protocols compare, and whether the validation split ranks models as the test split does."""

from dataclasses import dataclass

import pandas as pd

from preprocess.defaults import PROTOCOLS
from trainer.artifacts import SCORE_NAMES
from trainer.report.common import (
    BASELINE_LABELS,
    BASELINES,
    DECIMALS,
    MAIN_SPLIT,
    column,
    headline_metrics,
    keys_of,
    model_label,
    models_in,
    select,
    split_label,
    splits_of,
)


def reading(results: pd.DataFrame, rare: dict[tuple, list[str]]) -> list[str]:
    """Plain words, generated: what each balancing did to macro-F1 and the rare classes' recall against no balancing
    of the same architecture, whether the seeds support it, and how the two nsl-kdd protocols compare."""
    lines = []
    if results["seed"].nunique() < 2:
        lines += ["Every model ran with one seed only, so no difference below can be told apart from seed-to-seed noise.", ""]
    main = results[results["split"] == MAIN_SPLIT]
    for dataset, task, protocol in keys_of(main, ["dataset", "task", "protocol"]):
        frame = select(main, dataset=dataset, task=task, protocol=protocol)
        classes = rare[(dataset, task)]
        headline = headline_metrics(classes)
        measured = {m: name for m, name in headline.items() if column(frame, m).notna().any()}
        lines += [
            f"**{dataset} · {task} · {protocol} protocol, {split_label(MAIN_SPLIT)}** (rare classes, the {len(classes)} attack"
            f" classes with the fewest training rows: {', '.join(classes)})",
            "",
        ]
        if len(measured) < len(headline):
            missing = [name for m, name in headline.items() if m not in measured]
            lines.append(f"- Not measurable here, the test split has no rows of the class: {', '.join(missing)}.")
        winners = []
        for architecture, balancing in models_in(frame):
            if balancing == "none" or architecture in BASELINES:
                continue
            label, reference = model_label(architecture, balancing), model_label(architecture, "none")
            none = select(frame, architecture=architecture, balancing="none")
            if none.empty:
                lines.append(f"- {label}: {reference} did not run, nothing to compare with.")
                continue
            rows = select(frame, architecture=architecture, balancing=balancing)
            changes = [_change(name, column(none, m), column(rows, m)) for m, name in measured.items()]
            alarms = _change("the false-alarm rate", column(none, "false_alarm_rate"), column(rows, "false_alarm_rate"))
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
    for dataset, task in keys_of(main, ["dataset", "task"]):
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
    """ "raised a; b; lowered c; d stayed at x", from changes in any order."""
    raised = [c.words for c in changes if c.sign > 0]
    lowered = [c.words for c in changes if c.sign < 0]
    parts = [f"raised {'; '.join(raised)}"] * bool(raised) + [f"lowered {'; '.join(lowered)}"] * bool(lowered)
    return "; ".join(parts + [c.words for c in changes if c.sign == 0])


def _baseline_sentence(frame: pd.DataFrame) -> list[str]:
    neural = frame[~frame["architecture"].isin(BASELINES)].groupby(["architecture", "balancing"])["f1_macro"].mean()
    lines = []
    for name in BASELINES:
        baseline = column(select(frame, architecture=name), "f1_macro").dropna()
        if baseline.empty or neural.empty:
            continue
        below = int((neural < baseline.mean()).sum())
        mean = f"{baseline.mean():.{DECIMALS}f}"
        lines.append(f"- {BASELINE_LABELS[name]}: macro-F1 {mean}, above {below} of the {len(neural)} neural models' means.")
    return lines


def _protocol_comparison(results: pd.DataFrame, dataset: str, task: str, rare: list[str]) -> list[str]:
    """The same models under both protocols: how much easier is the random split than the official one?"""
    frame = select(results, dataset=dataset, task=task)
    means = {
        p: select(frame, protocol=p, split=MAIN_SPLIT).groupby(["architecture", "balancing"]).mean(numeric_only=True)
        for p in PROTOCOLS
    }
    shared = means["official"].index.intersection(means["random"].index)
    if shared.empty:
        return []
    baseline = " (the classical baselines among them)" if set(BASELINES) & set(shared.get_level_values("architecture")) else ""
    heading = f"**{dataset} · {task}: official against random protocol**, {split_label(MAIN_SPLIT)}"
    lines = [f"{heading}: {len(shared)} models ran under both{baseline}.", ""]
    for metric, name in ({"accuracy": "accuracy"} | headline_metrics(rare)).items():
        if metric not in means["official"]:
            continue
        official, random = means["official"].loc[shared, metric], means["random"].loc[shared, metric]
        higher = int((random > official).sum())
        lines.append(
            f"- {name}: {random.mean():.{DECIMALS}f} on the random split against {official.mean():.{DECIMALS}f} on the official"
            f" test split (average over the models); the random split scored higher for {higher} of {len(shared)} models."
        )
    for split in splits_of(frame, dataset, task, "official"):
        if split != MAIN_SPLIT:
            extra = select(frame, protocol="official", split=split)
            lines.append(
                f"- On {split_label(split)} (official protocol) macro-F1 averages"
                f" {extra['f1_macro'].mean():.{DECIMALS}f} over all models."
            )
    return [*lines, ""]


def validation_predicts_test(candidates: list[dict], best: dict) -> str:
    """Whether choosing by validation can work here: a validation split unlike the test split ranks the cells differently.
    Given for each validation score every candidate has (macro-F1, and the difficulty-weighted one where rated)."""
    test = pd.Series([m["test"]["f1_macro"] for m in candidates])
    correlations = []
    for key, name in SCORE_NAMES.items():
        if all(key in m["validation"] for m in candidates):
            validation = pd.Series([m["validation"][key] for m in candidates])
            if validation.nunique() > 1:
                correlations.append(f"{validation.corr(test, method='spearman'):.2f} for validation {name}")
    if len(candidates) < 3 or test.nunique() < 2 or not correlations:
        return ""  # no ranking to compare
    rank = int((test > best["test"]["f1_macro"]).sum()) + 1
    return (
        f"Over these {len(candidates)} cells the Spearman rank correlation with test macro-F1 is {', '.join(correlations)};"
        f" the chosen cell's test macro-F1 ranks {rank} of {len(candidates)}."
    )
