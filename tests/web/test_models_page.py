"""The models page: each model's test metrics, balancing and the trainer's figures, as the artifacts hold them."""

import json
import re

from playwright.sync_api import expect


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def test_every_model_shows_its_metrics_balancing_and_figures(logged_in, artifacts_dir, screenshot):
    page = logged_in
    index = json.loads((artifacts_dir / "index.json").read_text())
    page.get_by_role("link", name="Models").click()
    summary = page.locator("#models-summary tbody tr")
    expect(summary).to_have_count(len(index["models"]))

    for entry, row in zip(index["models"], summary.all(), strict=True):
        test = json.loads((artifacts_dir / entry["path"] / "metrics.json").read_text())["test"]
        expected = [entry["dataset"], entry["task"], entry["balancing"], str(test["rows"])]
        expected += [pct(test[key]) for key in ("accuracy", "f1_macro", "false_alarm_rate", "detection_rate")]
        assert row.locator("th").inner_text().startswith(entry["id"])
        assert row.locator("td").all_inner_texts() == expected

        section = page.locator(f"section#model-{entry['id']}")
        recall = {
            r.locator("th").inner_text(): r.locator("td").first.inner_text()
            for r in section.locator("table.recall tbody tr").all()
        }
        assert recall == {name: pct(values["recall"]) for name, values in test["per_class"].items()}
        expect(section).to_contain_text(f"balancing: {entry['balancing']}")

        for name in ("confusion_matrix", "class_balance", "training_history"):
            image = section.locator(f"img[data-plot='{name}']")
            expect(image).to_have_attribute("src", re.compile(r"^data:image/png;base64,."))
            png = (artifacts_dir / entry["path"] / f"{name}.png").read_bytes()
            assert image.evaluate("img => img.naturalWidth") == int.from_bytes(
                png[16:20], "big"
            )  # the PNG header's width
    page.get_by_role("heading", name="Models", exact=True).scroll_into_view_if_needed()
    screenshot(page, "models")


def test_each_model_shows_the_drift_of_its_recent_records(logged_in, api, auth, metadata, screenshot):
    """Records sent over the Open Inference Protocol (which feeds the drift window) show up on the model's page."""
    page = logged_in
    meta = metadata["nsl-kdd-binary-cnn"]
    records = [dict(r, src_bytes=r["src_bytes"] * 100) for r in meta.background] * 5  # 250 records, shifted
    for start in range(0, len(records), 20):  # within the web server's small batch and body limits
        chunk = records[start : start + 20]
        inputs = [
            {"name": f.name, "datatype": "BYTES" if f.kind == "categorical" else {"integer": "INT64", "number": "FP64"}[f.dtype],
             "shape": [len(chunk)], "data": [r[f.name] for r in chunk]}
            for f in meta.features
        ]  # fmt: skip
        assert api.post(f"/v2/models/{meta.model_id}/infer", json={"inputs": inputs}, headers=auth).status_code == 200
    report = api.get(f"/models/{meta.model_id}/drift", headers=auth).json()
    page.get_by_role("link", name="Models").click()
    section = page.locator(f"#drift-{meta.model_id}")
    expect(section.locator(".drift-status")).to_have_attribute("data-status", report["status"])
    rows = section.locator("table.drift-table").first.locator("tbody tr")
    expect(rows).to_have_count(8)
    shown = [(r.locator("th").inner_text(), r.locator("td").first.inner_text()) for r in rows.all()]
    assert shown == [(f["feature"], f"{f['psi']:.3f}") for f in report["features"][:8]]
    assert report["features"][0]["feature"] == "src_bytes"
    for other in (m for m in metadata if m != meta.model_id):
        expect(page.locator(f"#drift-{other} .drift-status")).to_have_attribute("data-status", "insufficient-data")
    section.scroll_into_view_if_needed()
    screenshot(page, "models-drift")
