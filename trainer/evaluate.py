"""Honest evaluation on a held-out split: overall, per-class and normal-vs-attack numbers."""

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def evaluate(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str], normal_class: str) -> dict:
    """y_true / y_pred are class indices into `classes`."""
    labels = np.arange(len(classes))
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    per_class = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    summary = {}
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average, zero_division=0)
        summary[average] = {"precision": float(p), "recall": float(r), "f1": float(f)}

    # Normal traffic is the negative class: a false alarm is a normal record called any attack.
    normal = classes.index(normal_class)
    is_normal, called_normal = y_true == normal, y_pred == normal
    negatives, positives = int(is_normal.sum()), int((~is_normal).sum())
    false_alarms = int((is_normal & ~called_normal).sum())
    detected = int((~is_normal & ~called_normal).sum())
    return {
        "rows": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision_macro": summary["macro"]["precision"],
        "recall_macro": summary["macro"]["recall"],
        "f1_macro": summary["macro"]["f1"],
        "precision_weighted": summary["weighted"]["precision"],
        "recall_weighted": summary["weighted"]["recall"],
        "f1_weighted": summary["weighted"]["f1"],
        "specificity": (negatives - false_alarms) / negatives if negatives else None,
        "false_alarm_rate": false_alarms / negatives if negatives else None,
        "detection_rate": detected / positives if positives else None,
        "per_class": {
            name: {
                "precision": float(per_class[0][i]),
                "recall": float(per_class[1][i]),
                "f1": float(per_class[2][i]),
                "support": int(per_class[3][i]),
            }
            for i, name in enumerate(classes)
        },
        "confusion_matrix": {"labels": classes, "rows_true_columns_predicted": matrix.tolist()},
    }


def difficulty_weighted_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int, difficulty: np.ndarray) -> float:
    """Macro-F1 with each record weighted 1 / (1 + difficulty): nsl-kdd's rating counts how many of its authors' 21
    classical learners classified a record right, and KDDTest+ was drawn toward the records they got wrong, so a
    validation split scored this way ranks models more as KDDTest+ does (reports/experiment-balance-units)."""
    weights = 1.0 / (1.0 + np.asarray(difficulty, dtype=np.float64))
    labels = np.arange(n_classes)
    return float(f1_score(y_true, y_pred, labels=labels, average="macro", sample_weight=weights, zero_division=0))


def alerts(
    y_true: np.ndarray, y_pred: np.ndarray, unknown: np.ndarray | None, normal: int, subtypes: np.ndarray, unseen: set[str]
) -> dict:
    """What an analyst is shown: a record raises an alert when it is called an attack or flagged unknown.

    y_true / y_pred are output class indices (y_pred: the classifier's most probable class), `unknown` the novelty
    flags (None without a detector), `subtypes` each record's raw label and `unseen` the raw labels absent from the
    training split: per unseen attack type, the share caught (called attack or flagged unknown) and the share called
    attack alone."""
    flagged = np.zeros(len(y_true), dtype=bool) if unknown is None else unknown
    is_normal, called_attack = y_true == normal, y_pred != normal
    alert = called_attack | flagged

    def share(values, rows):
        return float(values[rows].mean()) if rows.any() else None

    report = {
        "normal_flagged_unknown": share(flagged, is_normal) if unknown is not None else None,
        "normal_alerted": share(alert, is_normal),
        "attack_caught": share(alert, ~is_normal),
        "attack_called_attack": share(called_attack, ~is_normal),
    }

    def caught(rows):
        return {"rows": int(rows.sum()), "caught": share(alert, rows), "called_attack": share(called_attack, rows)}

    per_type = {name: caught((subtypes == name) & ~is_normal) for name in sorted(unseen & set(subtypes[~is_normal]))}
    if per_type:
        report["unseen_attacks"] = caught(np.isin(subtypes, list(per_type)) & ~is_normal)
        report["unseen_attack_types"] = per_type
    return report
