"""The CSV page: real dataset rows in, a results table, class totals and a CSV download out."""

import csv
import gzip
import io
import itertools
import json
from collections import Counter

import pytest
from playwright.sync_api import Locator, Page, expect

from trainer.datasets import NSL_KDD

ROWS = 50
SMALL_CHUNK = 10  # rows that fit the test server's body size limit (conftest.MAX_BODY_BYTES)


@pytest.fixture(scope="session")
def kdd_test_csv(data_dir, tmp_path_factory):
    """The first rows of the real KDDTest+ file, which has no header, written as a CSV file with the
    dataset's column names (label and difficulty columns included, as the file has them)."""
    with gzip.open(data_dir / "nsl-kdd" / "KDDTest+.txt.gz", "rt", newline="") as source:
        rows = list(itertools.islice(csv.reader(source), ROWS))
    path = tmp_path_factory.mktemp("csv") / "kdd-test-50.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(NSL_KDD.columns)
        writer.writerows(rows)
    return path


def as_record(row: dict[str, str], model: dict) -> dict:
    types = {f["name"]: f["type"] for f in model["features"]}
    convert = {"integer": int, "number": float}
    return {name: convert.get(types.get(name), str)(value) for name, value in row.items()}


def default_kdd_model(catalog: dict[str, dict]) -> dict:
    return next(m for m in catalog.values() if m["dataset"] == "nsl-kdd" and m["default"])


def open_batch_page(page: Page) -> Locator:
    page.get_by_role("link", name="Batch").click()
    return page.get_by_role("region", name="Check a CSV file")


def test_fifty_real_rows_give_the_apis_predictions_and_download_as_csv(
    logged_in, api, auth, catalog, kdd_test_csv, verdict_of, screenshot
):
    page = logged_in
    model = default_kdd_model(catalog)
    with kdd_test_csv.open(newline="") as source:
        records = [as_record(row, model) for row in csv.DictReader(source)]
    expected = []
    for start in range(0, ROWS, SMALL_CHUNK):
        body = {"dataset": "nsl-kdd", "model": model["id"], "records": records[start : start + SMALL_CHUNK]}
        expected += api.post("/predict/batch", json=body, headers=auth).json()["predictions"]
    assert len(expected) == ROWS

    sent = []  # (status, rows) of each /predict/batch request the page makes
    page.on(
        "response",
        lambda r: r.url.endswith("/predict/batch") and sent.append((r.status, len(json.loads(r.request.post_data)["records"]))),
    )
    batch = open_batch_page(page)
    batch.get_by_label("Model").select_option(model["id"])
    batch.get_by_label("CSV file with a header row").set_input_files(kdd_test_csv)
    batch.get_by_role("button", name="Predict file").click()
    expect(page.locator("#batch-status")).to_contain_text(f"Done: {ROWS} rows")
    # Chunks of at most the batch limit; one over the body size limit (413) is sent again as two halves.
    limit = api.get("/models", headers=auth).json()["batch_limit"]
    assert all(rows <= limit for _, rows in sent) and sent[0] == (413, limit), sent
    assert sum(rows for status, rows in sent if status == 200) == ROWS, sent

    table = page.locator("#batch-rows tbody tr")
    expect(table).to_have_count(ROWS)
    shown = [row.locator("th, td").all_inner_texts() for row in table.all()]
    assert [cells[:4] for cells in shown] == [
        [str(i + 1), p["label"], verdict_of(p, model), f"{p['confidence'] * 100:.1f}%"] for i, p in enumerate(expected)
    ]
    # a model with a novelty detector adds a column: "known (score)" or "unknown (score)", the score to 3 digits
    novelty = [f"{'unknown' if p['novelty']['unknown'] else 'known'} (" for p in expected if "novelty" in p]
    assert [cells[4][: cells[4].index("(") + 1] for cells in shown if len(cells) > 4] == novelty
    counts = Counter(p["label"] for p in expected)
    totals = {
        row.locator("th").inner_text(): row.locator("td").first.inner_text()
        for row in page.locator("#batch-totals tbody tr").all()
    }
    assert totals == {name: str(counts[name]) for name in model["classes"]}
    screenshot(page, "batch")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download results (CSV)").click()
    assert download.value.suggested_filename == "kdd-test-50-predictions.csv"
    downloaded = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert [row["row"] for row in downloaded] == [str(i + 1) for i in range(ROWS)]
    assert [row["label"] for row in downloaded] == [p["label"] for p in expected]
    for row, prediction in zip(downloaded, expected, strict=True):
        assert float(row["confidence"]) == pytest.approx(prediction["confidence"])
        assert row["is_attack"] == str(prediction["is_attack"]).lower()
        assert {c: float(row[f"p_{c}"]) for c in model["classes"]} == pytest.approx(prediction["probabilities"])


def test_a_file_with_missing_and_unknown_columns_is_refused_naming_them(logged_in, catalog, kdd_test_csv, tmp_path):
    page = logged_in
    header, *rows = kdd_test_csv.read_text().splitlines()
    renamed = header.replace("src_bytes", "source_bytes").replace(",flag,", ",").split(",")
    bad = tmp_path / "renamed.csv"
    bad.write_text("\n".join([",".join(renamed), *(",".join(r.split(",")[:3] + r.split(",")[4:]) for r in rows)]))

    batch = open_batch_page(page)
    batch.get_by_label("Model").select_option(default_kdd_model(catalog)["id"])
    batch.get_by_label("CSV file with a header row").set_input_files(bad)
    batch.get_by_role("button", name="Predict file").click()
    message = page.locator("#batch-problems")
    expect(message).to_contain_text('Missing columns: "flag", "src_bytes".')
    expect(message).to_contain_text('Unknown columns: "source_bytes".')
    expect(page.locator("#batch-results")).to_be_hidden()


def test_a_bad_cell_is_named_by_row_and_column(logged_in, catalog, kdd_test_csv, tmp_path):
    page = logged_in
    lines = kdd_test_csv.read_text().splitlines()
    cells = lines[3].split(",")
    cells[NSL_KDD.columns.index("duration")] = "-5"
    lines[3] = ",".join(cells)
    bad = tmp_path / "negative.csv"
    bad.write_text("\n".join(lines))

    batch = open_batch_page(page)
    batch.get_by_label("Model").select_option(default_kdd_model(catalog)["id"])
    batch.get_by_label("CSV file with a header row").set_input_files(bad)
    batch.get_by_role("button", name="Predict file").click()
    expect(page.locator("#batch-problems")).to_contain_text("Row 3, column duration: Input should be greater than or equal to 0")
