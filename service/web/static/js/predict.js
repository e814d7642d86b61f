// The single-record page: a form generated from the chosen model's feature list, its real examples, and the verdict.
import { api, loadCatalog, problems } from "./api.js";
import { contributionChart, probabilityChart } from "./chart.js";
import { el, percent, setChildren, setPage } from "./dom.js";
import { modelSelect, verdict } from "./models-select.js";

const MIN_GROUP = 3; // fewer fields sharing a name prefix stay with the other numeric fields

/** Categorical fields first, then the other numeric fields, then numeric fields sharing a name prefix. */
function groupFeatures(features) {
  let rest = features.filter((feature) => feature.type !== "categorical");
  const prefixed = [];
  for (const depth of [2, 1]) {
    const byPrefix = Map.groupBy(
      rest.filter((feature) => feature.name.split("_").length > depth),
      (feature) => feature.name.split("_").slice(0, depth).join("_"),
    );
    for (const [prefix, members] of byPrefix) {
      if (members.length < MIN_GROUP) continue;
      prefixed.push({ title: `${prefix}_… fields`, features: members });
      rest = rest.filter((feature) => !members.includes(feature));
    }
  }
  const first = (group) => features.indexOf(group.features[0]);
  return [
    { title: "Categorical fields", features: features.filter((feature) => feature.type === "categorical") },
    { title: "Numeric fields", features: rest },
    ...prefixed.sort((a, b) => first(a) - first(b)),
  ].filter((group) => group.features.length > 0);
}

function hint(feature) {
  if (feature.type === "categorical") {
    return feature.closed ? `one of ${feature.choices.length} values` : `text; ${feature.choices.length} known values`;
  }
  const kind = feature.type === "integer" ? "whole number" : "number";
  const { minimum: low, maximum: high } = feature;
  if (low !== null && high !== null) return `${kind}, ${low} to ${high}`;
  if (low !== null) return `${kind} ≥ ${low}`;
  return high !== null ? `${kind} ≤ ${high}` : kind;
}

function input(feature, id) {
  const common = { id, name: feature.name, required: true, "aria-describedby": `${id}-hint` };
  if (feature.type === "categorical" && feature.closed) {
    return el(
      "select",
      common,
      el("option", { value: "" }, "choose…"),
      feature.choices.map((c) => el("option", { value: c }, c)),
    );
  }
  if (feature.type === "categorical") {
    return [
      el("input", { ...common, type: "text", list: `${id}-choices`, autocomplete: "off", spellcheck: "false" }),
      el(
        "datalist",
        { id: `${id}-choices` },
        feature.choices.map((c) => el("option", { value: c })),
      ),
    ];
  }
  const integer = feature.type === "integer";
  return el("input", {
    ...common,
    type: "number",
    step: integer ? "1" : "any",
    min: feature.minimum,
    max: feature.maximum,
    inputmode: integer ? "numeric" : "decimal",
  });
}

function recordFields(model) {
  return groupFeatures(model.features).map((group) =>
    el(
      "fieldset",
      {},
      el("legend", {}, group.title),
      el(
        "div",
        { class: "fields" },
        group.features.map((feature) => {
          const id = `field-${feature.name}`;
          return el(
            "div",
            { class: "field" },
            el("label", { for: id }, feature.name),
            input(feature, id),
            el("span", { class: "hint", id: `${id}-hint` }, hint(feature)),
          );
        }),
      ),
    ),
  );
}

function readRecord(form, model) {
  return Object.fromEntries(
    model.features.map((feature) => {
      const field = form.elements.namedItem(feature.name);
      // valueAsNumber is NaN for an empty field; it is sent as null and the API names the field.
      return [feature.name, feature.type === "categorical" ? field.value : field.valueAsNumber];
    }),
  );
}

function fill(form, values) {
  for (const [name, value] of Object.entries(values)) {
    const field = form.elements.namedItem(name);
    if (field) field.value = String(value);
  }
}

function noveltyLine(novelty) {
  if (!novelty) return null;
  const score = `novelty score ${novelty.score.toPrecision(3)} (threshold ${novelty.threshold.toPrecision(3)})`;
  return el(
    "p",
    { id: "novelty", class: novelty.unknown ? "novelty unknown" : "novelty" },
    novelty.unknown ? `Unlike the training traffic: ${score}` : `Within the training traffic: ${score}`,
  );
}

// A model whose detector decides (novelty.unknown_is_attack) calls a record it flags unknown an attack even where the
// classifier alone says normal: say so, so the verdict and the probabilities below do not seem to disagree.
function overruledLine(prediction) {
  const [top, p] = Object.entries(prediction.probabilities).reduce((a, b) => (b[1] > a[1] ? b : a));
  if (!prediction.novelty?.unknown || top === prediction.label) return null;
  return el(
    "p",
    { id: "overruled", class: "novelty unknown" },
    `Called ${prediction.label} because it is unlike the training traffic; the classifier alone says ${top} (${percent(p)}).`,
  );
}

function showResult(panel, model, answer) {
  const { prediction } = answer;
  const why = el(
    "div",
    { id: "explanation", "aria-live": "polite" },
    el("h3", {}, "Why"),
    el("p", { class: "hint" }, "Computing each column's contribution…"),
  );
  setChildren(
    panel,
    el("h2", {}, "Result"),
    el(
      "p",
      { class: prediction.is_attack ? "verdict attack" : "verdict normal", id: "verdict" },
      verdict(prediction, model),
    ),
    el("p", { id: "confidence" }, `Confidence: ${percent(prediction.confidence)} (probability of ${prediction.label})`),
    noveltyLine(prediction.novelty),
    overruledLine(prediction),
    el("p", { class: "hint" }, `Model ${answer.model}`),
    why,
    el("h3", {}, "Class probabilities"),
    probabilityChart(model.classes, prediction.probabilities, prediction.label),
  );
  return why;
}

function showExplanation(box, { explanation }) {
  setChildren(
    box,
    el("h3", {}, `Why ${explanation.label}`),
    el(
      "p",
      { class: "hint" },
      `How each column moved the probability from ${percent(explanation.base_value)} (training traffic on average) `,
      `to ${percent(explanation.value)}: blue for ${explanation.label}, orange against.`,
    ),
    contributionChart(explanation),
  );
}

function showProblems(panel, lines) {
  setChildren(
    panel,
    el("h2", {}, "Result"),
    el(
      "div",
      { class: "message error", role: "alert" },
      el("p", {}, "The record was not accepted:"),
      el(
        "ul",
        {},
        lines.map((l) => el("li", {}, l)),
      ),
    ),
  );
}

export async function render(view) {
  const { models } = await loadCatalog();
  const form = el("form", { id: "predict-form", class: "record-form", "aria-labelledby": "predict-title" });
  const fields = el("div", { id: "predict-fields" });
  const examples = el("div", { class: "examples", role: "group", "aria-label": "Fill with a real test record" });
  const result = el("div", { id: "predict-result", "aria-live": "polite" });
  // Beside the long form and always in view, so predicting never needs a scroll to the bottom.
  const submit = el("button", { type: "submit", form: "predict-form" }, "Predict");
  const picker = modelSelect("predict-model", models, (model) => {
    const kept = form.elements.length ? readValues(form) : {};
    showModel(model);
    fill(form, kept);
  });

  function showModel(model) {
    setChildren(
      result,
      el("h2", {}, "Result"),
      el("p", { class: "hint" }, "Fill in the record, or fill it with a real test record, then choose Predict."),
    );
    setChildren(fields, recordFields(model));
    setChildren(
      examples,
      el("span", { class: "examples-label" }, "Fill with a real test record:"),
      Object.entries(model.examples).map(([label, record]) =>
        el("button", { type: "button", class: "secondary", onclick: () => fill(form, record) }, label),
      ),
    );
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const model = picker.selected();
    submit.disabled = true;
    try {
      const body = { dataset: model.dataset, model: model.id, record: readRecord(form, model) };
      const answer = await api("/predict", { method: "POST", json: body });
      const why = showResult(result, model, answer);
      // The verdict first; the explanation runs the model thousands of times, so it follows when ready.
      api("/predict/explain", { method: "POST", json: body }).then(
        (explained) => why.isConnected && showExplanation(why, explained),
        (error) => why.isConnected && setChildren(why, el("h3", {}, "Why"), el("p", { class: "message error" }, error.message)),
      );
    } catch (error) {
      // loc is [dataset, "record", field]: the field name alone says it.
      showProblems(
        result,
        problems(error, (loc) => (loc.includes("record") ? loc.slice(loc.indexOf("record") + 1) : loc).join(" › ")),
      );
    } finally {
      submit.disabled = false;
    }
  });

  form.append(el("div", { class: "toolbar" }, picker.field, examples), fields);
  showModel(picker.selected());
  setPage(
    view,
    "Check one connection",
    "Each field is a column of the model's dataset, with the range and values seen in training.",
    el("div", { class: "predict-layout" }, form, el("aside", { class: "card side" }, submit, result)),
  );
}

function readValues(form) {
  return Object.fromEntries(
    [...form.elements].filter((field) => field.name && field.value !== "").map((field) => [field.name, field.value]),
  );
}
