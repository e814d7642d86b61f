import { percent, svg } from "./dom.js";

const ROW = 30;
const LABEL = 120; // room for the class name left of the bar
const BAR = 170;
const WIDTH = LABEL + BAR + 60;

/** Horizontal bars of class probabilities, drawn with SVG attributes (the CSP forbids style attributes). */
export function probabilityChart(classes, probabilities, predicted) {
  const summary = classes.map((name) => `${name} ${percent(probabilities[name])}`).join(", ");
  return svg(
    "svg",
    {
      class: "bars",
      viewBox: `0 0 ${WIDTH} ${classes.length * ROW}`,
      role: "img",
      "aria-label": `Class probabilities: ${summary}`,
    },
    classes.map((name, row) => {
      const y = row * ROW;
      const p = probabilities[name];
      return svg(
        "g",
        { class: name === predicted ? "bar predicted" : "bar" },
        svg(
          "text",
          { x: LABEL - 10, y: y + ROW / 2, class: "bar-label", "text-anchor": "end", "dominant-baseline": "middle" },
          name,
        ),
        svg("rect", { x: LABEL, y: y + 6, width: BAR, height: ROW - 12, class: "bar-track" }),
        svg("rect", { x: LABEL, y: y + 6, width: (p * BAR).toFixed(2), height: ROW - 12, class: "bar-value" }),
        svg(
          "text",
          { x: LABEL + BAR + 8, y: y + ROW / 2, class: "bar-percent", "dominant-baseline": "middle" },
          percent(p),
        ),
      );
    }),
  );
}

const SHOWN_CONTRIBUTIONS = 8;
const NAME = 190; // room for "column = value" left of the axis
const NAME_CHARACTERS = 24;
const HALF = 65; // bar room on each side of the axis
const SIGNED_WIDTH = NAME + 2 * HALF + 70;

function signed(value) {
  return `${value >= 0 ? "+" : "−"}${Math.abs(value * 100).toFixed(1)} pts`;
}

/** Each column's contribution to the probability of the predicted class, as bars left (against) or right (for)
 * of an axis, the largest first; the rest are summed in one row so the bars still add up to value - base value. */
export function contributionChart(explanation) {
  const shown = explanation.contributions.slice(0, SHOWN_CONTRIBUTIONS);
  const rest = explanation.contributions.slice(SHOWN_CONTRIBUTIONS);
  const rows = shown.map((c) => ({ name: `${c.feature} = ${c.value ?? "missing"}`, value: c.contribution }));
  if (rest.length) {
    rows.push({ name: `${rest.length} other columns`, value: rest.reduce((sum, c) => sum + c.contribution, 0), other: true });
  }
  const scale = Math.max(...rows.map((r) => Math.abs(r.value)), 1e-9);
  const axis = NAME + HALF;
  const summary = rows.map((r) => `${r.name}: ${signed(r.value)}`).join(", ");
  return svg(
    "svg",
    {
      class: "bars contributions",
      viewBox: `0 0 ${SIGNED_WIDTH} ${rows.length * ROW + 4}`,
      role: "img",
      "aria-label": `Contributions to the probability of ${explanation.label}: ${summary}`,
    },
    svg("line", { x1: axis, x2: axis, y1: 0, y2: rows.length * ROW + 4, class: "axis" }),
    rows.map((row, index) => {
      const y = index * ROW;
      const width = (Math.abs(row.value) / scale) * HALF;
      const x = row.value >= 0 ? axis : axis - width;
      const side = row.value >= 0 ? "for" : "against";
      return svg(
        "g",
        { class: `bar ${side}${row.other ? " other" : ""}`, "data-feature": row.name },
        svg(
          "text",
          { x: NAME - 8, y: y + ROW / 2, class: "bar-label", "text-anchor": "end", "dominant-baseline": "middle" },
          row.name.length > NAME_CHARACTERS ? `${row.name.slice(0, NAME_CHARACTERS - 1)}…` : row.name,
          svg("title", {}, row.name),
        ),
        svg("rect", { x: x.toFixed(2), y: y + 6, width: Math.max(width, 0.5).toFixed(2), height: ROW - 12, class: "bar-value" }),
        svg(
          "text",
          { x: axis + HALF + 6, y: y + ROW / 2, class: "bar-percent", "dominant-baseline": "middle" },
          signed(row.value),
        ),
      );
    }),
  );
}
