// The models page: each served model's test metrics, balancing and the figures the trainer drew.
import { api, loadCatalog } from "./api.js";
import { el, percent, setChildren, setPage, svg, table } from "./dom.js";

const FIGURES = {
  confusion_matrix: "Confusion matrix on the test set",
  class_balance: "Training rows per class, before and after balancing",
  training_history: "Training history",
};

const METRIC_HEADERS = ["Accuracy", "Macro-F1", "False-alarm rate", "Detection rate"];

function metricCells(metrics) {
  return [metrics.accuracy, metrics.f1_macro, metrics.false_alarm_rate, metrics.detection_rate].map((v) => percent(v));
}

function summaryTable(models) {
  return table(
    { id: "models-summary" },
    "Test metrics of every served model",
    ["Model", "Dataset", "Task", "Balancing", "Test rows", ...METRIC_HEADERS],
    models.map((m) => [
      m.default ? `${m.id} (default)` : m.id,
      m.dataset,
      m.task,
      m.balancing,
      m.metrics.test.rows,
      ...metricCells(m.metrics.test),
    ]),
  );
}

function evaluationTable(model) {
  const sets = [["test", model.metrics.test], ...Object.entries(model.metrics.extra_tests)];
  return table(
    {},
    "Held-out evaluations",
    ["Test set", "Rows", ...METRIC_HEADERS],
    sets.map(([name, metrics]) => [name, metrics.rows, ...metricCells(metrics)]),
  );
}

function recallTable(model) {
  const perClass = model.metrics.test.per_class;
  return table(
    { class: "recall" },
    "Per-class recall (test set)",
    ["Class", "Recall", "Test rows"],
    model.classes.map((name) => [name, percent(perClass[name]?.recall), perClass[name]?.support ?? 0]),
  );
}

/** The plot as a data: URL: fetched with the bearer token, which an <img src> could not send. */
async function plotUrl(modelId, name) {
  const blob = await (await api(`/models/${encodeURIComponent(modelId)}/plots/${name}.png`, { raw: true })).blob();
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

function figure(model, name) {
  const caption = `${FIGURES[name] ?? name} (${model.id})`;
  const image = el("img", { alt: caption, class: "plot", "data-plot": name });
  plotUrl(model.id, name).then(
    (url) => image.setAttribute("src", url),
    () => image.replaceWith(el("p", { class: "message error" }, `The ${name} figure could not be loaded.`)),
  );
  return el("figure", {}, image, el("figcaption", {}, caption));
}

const SHOWN_FEATURES = 8;
const STATUS_TEXT = {
  "insufficient-data": "too few records yet to judge",
  stable: "stable: recent traffic looks like the training data",
  moderate: "moderate shift from the training data",
  drift: "drift: recent traffic differs from the training data",
};

function psiBar(psi, scale) {
  const width = Math.max((Math.min(psi, scale) / scale) * 100, 0.5);
  return svg("svg", { class: "psi-bar", viewBox: "0 0 100 10", "aria-hidden": "true" }, svg("rect", { width: width.toFixed(2), height: 10 }));
}

function driftTable(report, features, caption) {
  const scale = Math.max(report.thresholds.drift * 2, ...report.features.map((f) => f.psi));
  return table(
    { class: "drift-table" },
    caption,
    ["Feature", "PSI", "Status"],
    features.map((f) => [f.feature, el("span", { class: "psi-cell" }, psiBar(f.psi, scale), f.psi.toFixed(3)), f.status]),
    (index) => ({ class: features[index].status === "drift" ? "drift" : null }),
  );
}

function showDrift(box, report) {
  const top = report.features.slice(0, SHOWN_FEATURES);
  const rest = report.features.slice(SHOWN_FEATURES);
  setChildren(
    box,
    el("h3", {}, "Drift"),
    el(
      "p",
      {},
      el("span", { class: `drift-status ${report.status}`, "data-status": report.status }, STATUS_TEXT[report.status]),
      ` (last ${report.records.toLocaleString()} of up to ${report.window.toLocaleString()} records; population stability index `,
      `against training, moderate from ${report.thresholds.moderate}, drift from ${report.thresholds.drift}).`,
    ),
    driftTable(report, top, `Largest PSI of ${report.features.length} features`),
    rest.length
      ? el("details", {}, el("summary", {}, `The other ${rest.length} features`), driftTable(report, rest, "Other features"))
      : null,
  );
}

function driftSection(model) {
  const box = el("div", { class: "drift", id: `drift-${model.id}` }, el("h3", {}, "Drift"), el("p", { class: "hint" }, "Loading…"));
  api(`/models/${encodeURIComponent(model.id)}/drift`).then(
    (report) => showDrift(box, report),
    (error) => setChildren(box, el("h3", {}, "Drift"), el("p", { class: "hint" }, error.message)),
  );
  return box;
}

function modelSection(model) {
  return el(
    "section",
    { class: "card model", id: `model-${model.id}`, "aria-labelledby": `model-${model.id}-title` },
    el(
      "h2",
      { id: `model-${model.id}-title` },
      model.id,
      model.default ? el("span", { class: "badge" }, `default for ${model.dataset}`) : null,
    ),
    el(
      "p",
      {},
      `${model.dataset}, ${model.task} (${model.classes.join(", ")}), ${model.architecture}; balancing: ${model.balancing}. `,
      `${model.features.length} input features.`,
    ),
    el("div", { class: "model-tables" }, evaluationTable(model), recallTable(model)),
    driftSection(model),
    el(
      "div",
      { class: "figures" },
      model.plots.map((name) => figure(model, name)),
    ),
  );
}

export async function render(view) {
  const { models } = await loadCatalog();
  setPage(
    view,
    "Models",
    "Measured by the trainer on held-out test data never used for training or model choice.",
    summaryTable(models),
    models.map(modelSection),
  );
}
