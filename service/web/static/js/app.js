// The page shell: log-in and sign-up, the hash routes (#predict, #batch, #models), and log-out.
import { api, forgetCatalog, problems, session, whenTokenRefused } from "./api.js";
import * as batch from "./batch.js";
import { el, setChildren } from "./dom.js";
import * as models from "./models.js";
import * as predict from "./predict.js";

const PAGES = { predict, batch, models };
const byId = (id) => document.getElementById(id);
const rendered = new Map(); // page -> its rendering since log-in; emptied at log-out

function notify(text) {
  byId("notice").textContent = text;
  byId("notice").hidden = !text;
}

function show(name) {
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
  for (const link of byId("nav").querySelectorAll("a")) {
    if (link.getAttribute("href") === `#${name}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  byId(`view-${name}`).querySelector("h1")?.focus();
}

async function route() {
  const name = location.hash.slice(1);
  const signedIn = Boolean(session.token);
  byId("nav").hidden = byId("account").hidden = !signedIn;
  if (!signedIn) return show("login");
  const page = Object.hasOwn(PAGES, name) ? name : "predict";
  if (!rendered.has(page)) rendered.set(page, PAGES[page].render(byId(`view-${page}`)));
  try {
    await rendered.get(page);
  } catch (error) {
    rendered.delete(page);
    if (session.token) notify(problems(error).join(" ")); // else the log-out already said why
    return;
  }
  if (session.token) show(page);
}

/** Shows a page by its route, also when it is the current one (no hashchange then). */
function go(name) {
  if (location.hash === `#${name}`) route();
  else location.hash = name;
}

function logOut(message = "") {
  session.clear();
  forgetCatalog();
  for (const page of rendered.keys()) byId(`view-${page}`).replaceChildren();
  rendered.clear();
  byId("whoami").textContent = "";
  byId("login-form").reset();
  notify(message);
  go("login");
}

async function logIn(username, password) {
  const token = await api("/auth/token", { method: "POST", form: { username, password } });
  session.save(token.access_token);
  const me = await api("/auth/me");
  byId("whoami").textContent = `Signed in as ${me.username}`;
  notify("");
  go("predict");
}

function say(id, lines, kind = "error") {
  const box = byId(id);
  box.className = `message ${kind}`;
  setChildren(box, ...lines.map((line) => el("span", { class: "line" }, line)));
}

byId("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  say("login-message", []);
  try {
    await logIn(form.username.value, form.password.value);
  } catch (error) {
    session.clear();
    say("login-message", error.status === 401 ? ["Incorrect username or password."] : problems(error));
  }
});

byId("register-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  try {
    const user = await api("/auth/register", {
      method: "POST",
      json: { username: form.username.value, password: form.password.value },
    });
    form.reset();
    say("register-message", [`Account "${user.username}" created. Log in with it.`], "success");
    byId("login-username").value = user.username;
    byId("login-password").focus();
  } catch (error) {
    say("register-message", error.status === 409 ? ["That username is taken: choose another."] : problems(error));
  }
});

byId("logout").addEventListener("click", () => logOut("You are logged out."));
whenTokenRefused(() => logOut("Your session has ended: log in again."));
window.addEventListener("hashchange", route);

// A reload keeps the tab's session: the token is checked before anything is shown.
async function start() {
  if (session.token) {
    try {
      byId("whoami").textContent = `Signed in as ${(await api("/auth/me")).username}`;
    } catch {
      // A refused token has logged out already; any other failure is reported by the page below.
    }
  }
  route();
}

start();
