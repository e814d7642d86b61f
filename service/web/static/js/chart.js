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
