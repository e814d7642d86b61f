// The CSV page: parse a file of dataset rows in the browser, check its columns against the model,
// post it to /predict/batch in chunks of at most the API's batch limit, then show and offer the results.
import { api, loadCatalog, problems } from "./api.js";
import { el, nameList, percent, setChildren, setPage, table } from "./dom.js";
import { modelSelect, verdict } from "./models-select.js";

const SHOWN_ROWS = 1000; // the table stops there; the download has every row

/** Columns the model needs that the file lacks, and columns it has that the model does not take. */
function columnProblems(header, model) {
  const features = model.features.map((feature) => feature.name);
  const accepted = new Set([...features, ...model.ignored_columns]);
  const present = new Set(header);
  return {
    missing: features.filter((name) => !present.has(name)),
    unknown: header.filter((name) => !accepted.has(name)),
  };
}

function columnMessage({ missing, unknown }, model) {
  const lines = [`This file does not have the columns of the ${model.dataset} dataset.`];
  if (missing.length) lines.push(`Missing columns: ${nameList(missing)}.`);
  if (unknown.length) lines.push(`Unknown columns: ${nameList(unknown)}.`);
  if (missing.length === model.features.length)
    lines.push("The first row must be a header row with the dataset's column names.");
  return lines;
}

/** Numeric cells become numbers; anything else is sent as written, so the API names the cell at fault. */
function toRecord(row, numeric) {
  return Object.fromEntries(
    Object.entries(row).map(([name, value]) => {
      const number = Number(value);
      return [name, numeric.has(name) && value.trim() !== "" && Number.isFinite(number) ? number : value];
    }),
  );
}

function parse(file) {
  return new Promise((resolve, reject) => {
    globalThis.Papa.parse(file, { header: true, skipEmptyLines: true, complete: resolve, error: reject });
  });
}

/** All predictions in row order. A request over the body size limit (413) is retried as two halves. */
async function predictAll(model, records, limit, progress) {
  const predictions = [];
  let size = limit;
  while (predictions.length < records.length) {
    const start = predictions.length;
    const chunk = records.slice(start, start + size);
    try {
      const answer = await api("/predict/batch", {
        method: "POST",
        json: { dataset: model.dataset, model: model.id, records: chunk },
      });
      predictions.push(...answer.predictions);
      progress(predictions.length);
    } catch (error) {
      if (error.status === 413 && size > 1) {
        size = Math.ceil(size / 2);
        continue;
      }
      throw problems(error, (loc) => rowAndColumn(loc, start));
    }
  }
  return predictions;
}

// The API's loc is [dataset, "records", index in the request, column]: say which row of the file.
function rowAndColumn(loc, start) {
  const at = loc.indexOf("records");
  const index = loc[at + 1];
  return at >= 0 && Number.isInteger(index) ? `Row ${start + index + 1}, column ${loc[at + 2]}` : loc.join(" › ");
}

// A model with a novelty detector answers `novelty` on every prediction.
const hasNovelty = (predictions) => predictions.length > 0 && predictions[0].novelty !== undefined;

function resultsCsv(model, predictions) {
  const novelty = hasNovelty(predictions);
  const rows = predictions.map((p, index) => [
    index + 1,
    p.label,
    p.is_attack,
    p.confidence,
    ...model.classes.map((c) => p.probabilities[c]),
    ...(novelty ? [p.novelty.score, p.novelty.unknown] : []),
  ]);
  return globalThis.Papa.unparse({
    fields: [
      "row",
      "label",
      "is_attack",
      "confidence",
      ...model.classes.map((c) => `p_${c}`),
      ...(novelty ? ["novelty_score", "unknown"] : []),
    ],
    data: rows,
  });
}

function noveltyCell(p) {
  return p.novelty.unknown ? `unknown (${p.novelty.score.toPrecision(3)})` : `known (${p.novelty.score.toPrecision(3)})`;
}

function totalsTable(model, predictions) {
  const counts = Map.groupBy(predictions, (p) => p.label);
  const rows = model.classes.map((name) => {
    const count = counts.get(name)?.length ?? 0;
    return [name, count, percent(count / predictions.length)];
  });
  return table({ id: "batch-totals" }, "Class totals", ["Class", "Rows", "Share"], rows);
}

function rowsTable(model, predictions) {
  const shown = predictions.slice(0, SHOWN_ROWS);
  return table(
    { id: "batch-rows" },
    "Predictions per row (rows counted from the first data row, header excluded)",
    ["Row", "Label", "Verdict", "Confidence", ...(hasNovelty(shown) ? ["Novelty"] : [])],
    shown.map((p, index) => [
      index + 1,
      p.label,
      verdict(p, model),
      percent(p.confidence),
      ...(hasNovelty(shown) ? [noveltyCell(p)] : []),
    ]),
    (index) => ({ class: shown[index].is_attack ? "attack" : null }),
  );
}

function download(csv, filename) {
  const link = el("a", { href: URL.createObjectURL(new Blob([csv], { type: "text/csv" })), download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 0);
}

export async function render(view) {
  const { models, batch_limit: limit } = await loadCatalog();
  const columns = el("details", { class: "columns" });
  const picker = modelSelect("batch-model", models, (model) => describeColumns(model));
  const file = el("input", { id: "batch-file", type: "file", accept: ".csv,text/csv", required: true });
  const status = el("p", { id: "batch-status", role: "status", "aria-live": "polite" });
  const problemsBox = el("div", { id: "batch-problems", class: "message error", role: "alert", hidden: true });
  const results = el("section", { id: "batch-results", "aria-labelledby": "batch-results-title", hidden: true });
  const submit = el("button", { type: "submit" }, "Predict file");

  function describeColumns(model) {
    setChildren(
      columns,
      el("summary", {}, `Columns of ${model.dataset} (${model.features.length} features)`),
      el("p", {}, "Needed: ", el("code", {}, model.features.map((f) => f.name).join(", "))),
      el("p", {}, "Accepted and ignored: ", el("code", {}, model.ignored_columns.join(", ") || "none")),
    );
  }

  function fail(lines) {
    setChildren(
      problemsBox,
      el(
        "ul",
        {},
        lines.map((line) => el("li", {}, line)),
      ),
    );
    problemsBox.hidden = false;
    status.textContent = "";
  }

  async function run(model, chosen) {
    problemsBox.hidden = true;
    results.hidden = true;
    status.textContent = `Reading ${chosen.name}…`;
    const parsed = await parse(chosen);
    const broken = parsed.errors.filter((e) => e.type === "FieldMismatch" || e.type === "Quotes");
    if (broken.length) return fail(broken.slice(0, 10).map((e) => `Row ${e.row + 1}: ${e.message}`));
    const mismatch = columnProblems(parsed.meta.fields ?? [], model);
    if (mismatch.missing.length || mismatch.unknown.length) return fail(columnMessage(mismatch, model));
    if (parsed.data.length === 0) return fail(["The file has a header row but no data rows."]);

    const numeric = new Set(model.features.filter((f) => f.type !== "categorical").map((f) => f.name));
    const records = parsed.data.map((row) => toRecord(row, numeric));
    const predictions = await predictAll(model, records, limit, (done) => {
      status.textContent = `Predicted ${done} of ${records.length} rows…`;
    });
    const attacks = predictions.filter((p) => p.is_attack).length;
    status.textContent = `Done: ${records.length} rows, ${attacks} predicted as attacks, by ${model.id}.`;
    const filename = `${chosen.name.replace(/\.csv$/i, "")}-predictions.csv`;
    setChildren(
      results,
      el("h2", { id: "batch-results-title" }, `Results for ${chosen.name}`),
      el(
        "button",
        { type: "button", id: "batch-download", onclick: () => download(resultsCsv(model, predictions), filename) },
        "Download results (CSV)",
      ),
      el("div", { class: "batch-tables" }, totalsTable(model, predictions), rowsTable(model, predictions)),
      predictions.length > SHOWN_ROWS
        ? el(
            "p",
            { class: "hint" },
            `The table shows the first ${SHOWN_ROWS} rows; the download has all ${predictions.length}.`,
          )
        : null,
    );
    results.hidden = false;
  }

  const form = el(
    "form",
    { id: "batch-form", class: "card" },
    picker.field,
    el("div", { class: "field" }, el("label", { for: "batch-file" }, "CSV file with a header row"), file),
    submit,
    columns,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      await run(picker.selected(), file.files[0]);
    } catch (error) {
      fail(Array.isArray(error) ? error : [`The file could not be read: ${error.message}`]);
    } finally {
      submit.disabled = false;
    }
  });
  describeColumns(picker.selected());
  setPage(
    view,
    "Check a CSV file",
    `Rows of a dataset file with its own column names in a header row; label and identifier columns are accepted and ignored. ` +
      `Large files go to the API ${limit} rows at a time.`,
    form,
    status,
    problemsBox,
    results,
  );
}
