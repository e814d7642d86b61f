"""The single-record page: a form generated from each model's metadata, its real examples, and the verdict."""

import re

import httpx
import numpy as np
from playwright.sync_api import expect

from preprocess.metadata import CategoricalFeature

# The form as the browser sees it: every control of the generated fields, with its label and constraints.
DESCRIBE_FORM = """() => [...document.querySelectorAll('#predict-fields input, #predict-fields select')].map((c) => ({
  name: c.name,
  tag: c.tagName.toLowerCase(),
  type: c.type,
  label: document.querySelector(`label[for="${c.id}"]`)?.textContent,
  min: c.getAttribute('min'),
  max: c.getAttribute('max'),
  step: c.getAttribute('step'),
  required: c.required,
  choices: [...(c.list ?? c).querySelectorAll?.('option') ?? []].map((o) => o.value).filter((v) => v !== ''),
}))"""


def expected_control(feature) -> dict:
    if isinstance(feature, CategoricalFeature):
        tag, kind = ("select", "select-one") if feature.closed else ("input", "text")
        return {"tag": tag, "type": kind, "choices": feature.vocabulary}
    step = "1" if feature.dtype == "integer" else "any"
    return {
        "tag": "input",
        "type": "number",
        "min": _bound(feature.minimum),
        "max": _bound(feature.maximum),
        "step": step,
    }


def _bound(value: float | None) -> str | None:
    """As the input's min or max attribute holds it: absent when unbounded, `1` for 1.0."""
    return None if value is None else f"{value:g}"


def test_the_form_of_every_model_is_its_metadata(logged_in, metadata):
    page = logged_in
    for model_id, meta in metadata.items():
        page.get_by_label("Model").select_option(model_id)
        controls = {c["name"]: c for c in page.evaluate(DESCRIBE_FORM)}
        assert len(controls) == page.locator("#predict-fields [name]").count(), "a field appears twice"
        assert sorted(controls) == sorted(f.name for f in meta.features), model_id  # in groups, not file order
        for feature in meta.features:
            control = controls[feature.name]
            assert control["label"] == feature.name and control["required"], control
            assert {key: control[key] for key in expected_control(feature)} == expected_control(feature), control
        legends = page.locator("#predict-fields legend").all_inner_texts()
        has_categorical = any(isinstance(f, CategoricalFeature) for f in meta.features)
        assert (legends[0] == "Categorical fields") == has_categorical, legends
        examples = page.get_by_role("group", name="Fill with a real test record").get_by_role("button")
        expect(examples).to_have_text(list(meta.examples))


def test_every_example_of_the_default_models_gets_the_apis_verdict(logged_in, api, auth, catalog, verdict_of):
    page = logged_in
    for model in (m for m in catalog.values() if m["default"]):
        page.get_by_label("Model").select_option(model["id"])
        for label, record in model["examples"].items():
            page.get_by_role("group", name="Fill with a real test record").get_by_role("button", name=label, exact=True).click()
            features = {f["name"] for f in model["features"]}  # a column the model ignores has no field
            for name, value in ((k, v) for k, v in record.items() if k in features):  # the form holds the example as shipped
                shown = page.locator(f"#predict-fields [name='{name}']").input_value()
                assert (float(shown) if isinstance(value, int | float) else shown) == value, name
            page.get_by_role("button", name="Predict").click()
            answer = api.post(
                "/predict", json={"dataset": model["dataset"], "model": model["id"], "record": record}, headers=auth
            )
            expect(page.locator("#verdict")).to_have_text(verdict_of(answer.json()["prediction"], model))
            page.locator("#verdict").evaluate("node => node.remove()")  # so the next verdict is a new one


def test_values_the_api_refuses_are_named_and_out_of_range_ones_never_sent(logged_in, catalog):
    page = logged_in
    model = next(m for m in catalog.values() if m["dataset"] == "nsl-kdd" and m["default"])
    page.get_by_label("Model").select_option(model["id"])
    page.get_by_role("group", name="Fill with a real test record").get_by_role("button", name="normal").click()

    # An open categorical accepts any text in the browser; the API bounds its length and names the field.
    page.get_by_label("service", exact=True).fill("x" * 100)
    page.get_by_role("button", name="Predict").click()
    expect(page.get_by_role("alert")).to_have_text(
        re.compile(r"^The record was not accepted:\s*service: String should have at most 64 characters$")
    )
    expect(page.locator("#verdict")).to_have_count(0)

    # A rate above 1 fails the input's own max, so the browser keeps the form and sends nothing.
    page.get_by_label("service", exact=True).fill("http")
    page.get_by_label("serror_rate", exact=True).fill("2")
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.get_by_role("button", name="Predict").click()
    assert page.get_by_label("serror_rate", exact=True).evaluate("input => input.validity.rangeOverflow")
    page.wait_for_timeout(200)
    assert not [url for url in requests if url.endswith("/predict")]


def _as_js(value) -> str:
    """A JSON value as JavaScript prints it: 1.0 is 1."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def test_the_verdict_is_explained_by_the_apis_contributions(logged_in, api, auth, catalog, screenshot):
    page = logged_in
    model = next(m for m in catalog.values() if m["dataset"] == "nsl-kdd" and m["default"])
    page.get_by_label("Model").select_option(model["id"])
    page.get_by_role("group", name="Fill with a real test record").get_by_role("button", name="DoS", exact=True).click()
    page.get_by_role("button", name="Predict").click()
    chart = page.locator("#explanation svg.contributions")
    expect(chart).to_be_visible(timeout=30_000)
    body = {"dataset": model["dataset"], "model": model["id"], "record": model["examples"]["DoS"]}
    explanation = api.post("/predict/explain", json=body, headers=auth).json()["explanation"]
    contributions = explanation["contributions"]
    shown = chart.locator("g.bar")
    expect(shown).to_have_count(9)  # eight columns, then the others summed
    names = [f"{c['feature']} = {_as_js(c['value'])}" for c in contributions[:8]] + [f"{len(contributions) - 8} other columns"]
    assert [g.get_attribute("data-feature") for g in shown.all()] == names
    sides = ["for" if c["contribution"] >= 0 else "against" for c in contributions[:8]]
    assert [g.get_attribute("class").split()[1] for g in shown.all()[:8]] == sides
    label = chart.get_attribute("aria-label")
    top = contributions[0]
    first = f"{top['feature']} = {_as_js(top['value'])}"
    assert label.startswith(f"Contributions to the probability of {explanation['label']}: {first}: ")
    expect(page.locator("#explanation")).to_contain_text(f"Why {explanation['label']}")
    novelty = api.post("/predict", json=body, headers=auth).json()["prediction"].get("novelty")
    expect(page.locator("#novelty")).to_have_count(1 if novelty else 0)  # shown when the model has a detector
    chart.scroll_into_view_if_needed()
    screenshot(page, "predict-explained")


def test_a_prediction_with_novelty_shows_it(browser, novelty_server, log_in, new_username):
    with httpx.Client(base_url=novelty_server, timeout=30) as api:
        user = {"username": new_username(), "password": "correct horse battery"}
        assert api.post("/auth/register", json=user).status_code == 201
        token = api.post("/auth/token", data=user).json()["access_token"]
        model = api.get("/models", headers={"Authorization": f"Bearer {token}"}).json()["models"][0]
        context = browser.new_context(base_url=novelty_server, viewport={"width": 1366, "height": 768})
        page = context.new_page()
        try:
            log_in(page, user)
            examples = page.get_by_role("group", name="Fill with a real test record")
            for label, record in model["examples"].items():
                examples.get_by_role("button", name=label, exact=True).click()
                page.get_by_role("button", name="Predict").click()
                body = {"dataset": model["dataset"], "record": record}
                answer = api.post("/predict", json=body, headers={"Authorization": f"Bearer {token}"}).json()
                novelty = answer["prediction"]["novelty"]
                words = "Unlike the training traffic" if novelty["unknown"] else "Within the training traffic"
                expect(page.locator("#novelty")).to_have_text(re.compile(f"^{words}: novelty score "))
                expect(page.locator("#novelty")).to_have_class(re.compile("unknown" if novelty["unknown"] else "^novelty$"))
                page.locator("#novelty").evaluate("node => node.remove()")  # so the next one is new
        finally:
            context.close()


def test_a_record_called_an_attack_because_it_is_unknown_says_so(
    logged_in, api, auth, catalog, verdict_of, data_dir, artifacts_dir
):
    """nsl-kdd's binary models call a record their detector flags unknown an attack (novelty.unknown_is_attack)."""
    from inference import load_model
    from trainer.datasets import DATASETS
    from trainer.load import read_table

    model = catalog["nsl-kdd-binary-cnn"]
    assert model["novelty"]["unknown_is_attack"]
    rows = read_table(DATASETS["nsl-kdd"], data_dir / "nsl-kdd" / "KDDTest+.txt.gz").head(2000).to_dict("records")
    predictions = load_model(artifacts_dir / model["id"]).predict_records(rows)
    overruled = np.flatnonzero(predictions.unknown & (predictions.probabilities[:, 0] > 0.5))
    record = rows[int(overruled[0])]  # flagged unknown, most probably normal: called an attack
    page = logged_in
    page.get_by_label("Model").select_option(model["id"])
    for feature in model["features"]:
        field = page.locator(f"#predict-fields [name='{feature['name']}']")
        if feature["type"] == "categorical" and feature["closed"]:
            field.select_option(str(record[feature["name"]]))
        else:
            field.fill(str(record[feature["name"]]))
    page.get_by_role("button", name="Predict").click()
    answer = api.post("/predict", json={"dataset": "nsl-kdd", "model": model["id"], "record": record}, headers=auth).json()
    assert answer["prediction"]["label"] == "attack" and answer["prediction"]["novelty"]["unknown"]
    expect(page.locator("#verdict")).to_have_text(verdict_of(answer["prediction"], model))
    expect(page.locator("#overruled")).to_have_text(
        re.compile(r"^Called attack because it is unlike the training traffic; the classifier alone says normal \(\d")
    )
