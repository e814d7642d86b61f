"""artifacts/README.md's page, written from the models' metrics.json."""

import json

from trainer.summary import alert_accuracy, balancing_text, write_summary


def _scores(normal_alerted: float, attack_caught: float) -> dict:
    per_class = {"normal": {"recall": 0.9, "support": 60}, "DoS": {"recall": 0.5, "support": 40}}
    alerts = {"normal_flagged_unknown": 0.02, "normal_alerted": normal_alerted, "attack_caught": attack_caught}
    headline = {"rows": 100, "accuracy": 0.7, "f1_macro": 0.6, "f1_weighted": 0.7, "false_alarm_rate": 0.1}
    return headline | {"per_class": per_class, "alerts": alerts}


def test_alert_accuracy_reads_an_alert_as_attack():
    # 60 normal records, 6 alerted; 40 attacks, 30 alerted: 54 + 30 right of 100
    assert alert_accuracy(_scores(0.1, 0.75), "normal") == 0.84
    assert alert_accuracy({"rows": 10, "per_class": {}}, "normal") is None  # a model measured before alerts were


def test_the_page_names_each_detector_budget_and_alert_accuracy(tmp_path):
    metrics = {
        "model_id": "nsl-kdd-multiclass-cnn",
        "config": {"dataset": "nsl-kdd", "task": "multiclass"},
        "balancing": {"method": "smote", "target": 1.0},
        "split": {"protocol": "official", "seed": 0, "files": ["KDDTrain+.txt.gz", "KDDTest+.txt.gz"]},
        "validation": _scores(0.05, 0.99),
        "test": _scores(0.1, 0.75),
        "training": {"fit_seconds": 10.0, "epochs_run": 2, "peak_rss_mb": 100.0},
        "novelty": {"budget": 0.05, "budget_of": "alerted"},
        "command": "python -m trainer train ...",
    }
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "metrics.json").write_text(json.dumps(metrics))

    page = write_summary(tmp_path).read_text()

    assert "| nsl-kdd-multiclass-cnn | 5.0 alerted | test | 2.0 | 10.0 | 75.0 | 84.0 | none |" in page
    assert "| nsl-kdd-multiclass-cnn | smote (target 1.0) |" in page

    metrics["novelty"]["unknown_is_attack"] = True
    (tmp_path / "m" / "metrics.json").write_text(json.dumps(metrics))
    assert "| nsl-kdd-multiclass-cnn (unknown is attack) | smote (target 1.0) |" in write_summary(tmp_path).read_text()


def test_balancing_text_names_the_cap_where_there_is_one():
    assert balancing_text({"method": "smote", "target": 1.0}) == "smote (target 1.0)"
    assert balancing_text({"method": "smote", "target": 1.0, "cap": 0.4}) == "smote (target 1.0, cap 0.4)"
