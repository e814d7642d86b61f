// The JSON API client: the bearer token lives in sessionStorage (this tab only) and is dropped at log-out.
const TOKEN_KEY = "nids.token";

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  save(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : `request failed with status ${status}`);
    this.status = status;
    this.detail = detail; // a string, or the 422 list of {loc, msg, type}
  }
}

let onExpired = () => {};

/** Called when the API refuses the stored token (expired, or the account is gone). */
export function whenTokenRefused(handler) {
  onExpired = handler;
}

/** `json` is sent as a JSON body, `form` as an HTML form; `raw` returns the Response itself. */
export async function api(path, { method = "GET", json, form, raw = false } = {}) {
  const headers = {};
  const token = session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  const response = await fetch(path, { method, headers, body });
  if (!response.ok) {
    const answer = await response.json().catch(() => ({}));
    if (response.status === 401 && token) onExpired();
    throw new ApiError(response.status, answer.detail);
  }
  return raw ? response : response.json();
}

/** One line per problem: "record › src_bytes: Input should be greater than or equal to 0". */
export function problems(error, describeLocation = (loc) => loc.join(" › ")) {
  if (!(error instanceof ApiError)) return [`The service could not be reached (${error.message}).`];
  if (!Array.isArray(error.detail)) return [error.message];
  return error.detail.map(({ loc, msg }) => `${describeLocation(loc.slice(1))}: ${msg}`);
}

let catalog = null;

/** GET /models, once per log-in: the models, their features, examples, metrics, and the batch limit. */
export async function loadCatalog() {
  catalog ??= api("/models").catch((error) => {
    catalog = null;
    throw error;
  });
  return catalog;
}

export function forgetCatalog() {
  catalog = null;
}
