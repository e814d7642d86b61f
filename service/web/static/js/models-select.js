import { el } from "./dom.js";

/** A labelled model picker, grouped by dataset, with each dataset's default model chosen first. */
export function modelSelect(id, models, onChange) {
  const datasets = [...new Set(models.map((model) => model.dataset))];
  const select = el(
    "select",
    { id, onchange: () => onChange(models.find((model) => model.id === select.value)) },
    datasets.map((dataset) =>
      el(
        "optgroup",
        { label: dataset },
        models
          .filter((model) => model.dataset === dataset)
          .map((model) =>
            el(
              "option",
              { value: model.id, selected: model.default && model.dataset === datasets[0] },
              `${model.id} (${model.task}, ${model.architecture}${model.default ? ", default" : ""})`,
            ),
          ),
      ),
    ),
  );
  return {
    field: el("div", { class: "field inline" }, el("label", { for: id }, "Model"), select),
    selected: () => models.find((model) => model.id === select.value),
  };
}

/** The verdict in plain words, as an analyst would say it. */
export function verdict(prediction, model) {
  if (!prediction.is_attack) return "Normal traffic";
  return model.task === "binary" ? "Attack detected" : `Attack detected: ${prediction.label}`;
}
