// Element builders: every node is made with DOM APIs and text nodes, so nothing from the API is ever parsed as HTML.
const SVG_NS = "http://www.w3.org/2000/svg";

// Children may be nested arrays; null, undefined and false are left out, so parts can be optional.
const present = (children) =>
  children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false);

function build(node, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...present(children));
  return node;
}

/** Replaces the children of `node`, taking children as `el` does. */
export function setChildren(node, ...children) {
  node.replaceChildren(...present(children));
}

/**
 * Fills a console page (a view section of index.html): its heading, a lead paragraph, then the content. The heading
 * takes the id the section's aria-labelledby names, and tabindex -1 so that the app can move the focus to it.
 */
export function setPage(view, title, lead, ...content) {
  setChildren(
    view,
    el("h1", { id: view.getAttribute("aria-labelledby"), tabindex: "-1" }, title),
    el("p", { class: "lead" }, lead),
    content,
  );
}

export function el(tag, attributes = {}, ...children) {
  return build(document.createElement(tag), attributes, children);
}

export function svg(tag, attributes = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attributes, children);
}

export function percent(value, digits = 1) {
  return value === null || value === undefined ? "n/a" : `${(value * 100).toFixed(digits)}%`;
}

// "a, b, c and 4 more": keeps a message about a 40-column file readable.
export function nameList(names, shown = 12) {
  const listed = names
    .slice(0, shown)
    .map((name) => JSON.stringify(name))
    .join(", ");
  return names.length > shown ? `${listed} and ${names.length - shown} more` : listed;
}

/** A table with a caption and column headers; each row is [row header, ...cells]. */
export function table(attributes, caption, headers, rows, rowAttributes = () => ({})) {
  return el(
    "table",
    attributes,
    el("caption", {}, caption),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        headers.map((header) => el("th", { scope: "col" }, header)),
      ),
    ),
    el(
      "tbody",
      {},
      rows.map(([first, ...cells], index) =>
        el(
          "tr",
          rowAttributes(index),
          el("th", { scope: "row" }, first),
          cells.map((cell) => el("td", {}, cell)),
        ),
      ),
    ),
  );
}
