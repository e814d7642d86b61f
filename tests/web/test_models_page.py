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
