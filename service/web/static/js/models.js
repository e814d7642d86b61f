// The models page: each served model's test metrics, balancing and the figures the trainer drew.
import { api, loadCatalog } from "./api.js";
import { el, percent, setChildren } from "./dom.js";

const FIGURES = {
  confusion_matrix: "Confusion matrix on the test set",
  class_balance: "Training rows per class, before and after balancing",
  training_history: "Training history",
};

function metricCells(metrics) {
  return [metrics.accuracy, metrics.f1_macro, metrics.false_alarm_rate, metrics.detection_rate].map((v) => el("td", {}, percent(v)));
}

const METRIC_HEADERS = ["Accuracy", "Macro-F1", "False-alarm rate", "Detection rate"];

function summaryTable(models) {
  return el(
    "table",
    { id: "models-summary" },
    el("caption", {}, "Test metrics of every served model"),
    el("thead", {}, el("tr", {}, ["Model", "Dataset", "Task", "Balancing", "Test rows", ...METRIC_HEADERS].map((h) => el("th", { scope: "col" }, h)))),
    el(
      "tbody",
      {},
      models.map((m) =>
        el(
          "tr",
          {},
          el("th", { scope: "row" }, m.id, m.default ? " (default)" : ""),
          el("td", {}, m.dataset),
          el("td", {}, m.task),
          el("td", {}, m.balancing),
          el("td", {}, m.metrics.test.rows),
          metricCells(m.metrics.test),
        ),
      ),
    ),
  );
}

function evaluationTable(model) {
  const sets = [["test", model.metrics.test], ...Object.entries(model.metrics.extra_tests)];
  return el(
    "table",
    {},
    el("caption", {}, "Held-out evaluations"),
    el("thead", {}, el("tr", {}, ["Test set", "Rows", ...METRIC_HEADERS].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, sets.map(([name, m]) => el("tr", {}, el("th", { scope: "row" }, name), el("td", {}, m.rows), metricCells(m)))),
  );
}

function recallTable(model) {
  const perClass = model.metrics.test.per_class;
  return el(
    "table",
    { class: "recall" },
    el("caption", {}, "Per-class recall (test set)"),
    el("thead", {}, el("tr", {}, ["Class", "Recall", "Test rows"].map((h) => el("th", { scope: "col" }, h)))),
    el(
      "tbody",
      {},
      model.classes.map((name) => el("tr", {}, el("th", { scope: "row" }, name), el("td", {}, percent(perClass[name]?.recall)), el("td", {}, perClass[name]?.support ?? 0))),
    ),
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

function modelSection(model) {
  return el(
    "section",
    { class: "card model", id: `model-${model.id}`, "aria-labelledby": `model-${model.id}-title` },
    el("h2", { id: `model-${model.id}-title` }, model.id, model.default ? el("span", { class: "badge" }, `default for ${model.dataset}`) : null),
    el(
      "p",
      {},
      `${model.dataset}, ${model.task} (${model.classes.join(", ")}), ${model.architecture}; balancing: ${model.balancing}. `,
      `${model.features.length} input features.`,
    ),
    el("div", { class: "model-tables" }, evaluationTable(model), recallTable(model)),
    el("div", { class: "figures" }, model.plots.map((name) => figure(model, name))),
  );
}

export async function render(view) {
  const { models } = await loadCatalog();
  setChildren(view, 
    el("h1", { id: "models-title", tabindex: "-1" }, "Models"),
    el("p", { class: "lead" }, "Measured by the trainer on held-out test data never used for training or model choice."),
    summaryTable(models),
    models.map(modelSection),
  );
}
