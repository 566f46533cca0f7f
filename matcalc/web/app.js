"use strict";
// matcalc's page: the form (or the page's address) becomes a query of /api/diff, whose
// JSON is what `matcalc diff --format json` prints; the page only shows it.  Every request
// goes to the server that sent the page (its Content-Security-Policy allows no other).

const FIELDS = ["expr", "wrt", "layout", "order", "scalar", "symmetric", "symmetric_as"];
const ALWAYS_IN_LINK = new Set(["expr", "wrt", "layout", "order"]);
const LIVE_DELAY_MS = 700;
const MAX_QUERY_LENGTH = 8000;   // longer queries go in a POST body (the server takes 16 KiB of either)   // typing pauses this long before the page asks again
const TAB_NAMES = {numpy: "NumPy", sympy: "SymPy", jax: "JAX", torch: "PyTorch", pytorch: "PyTorch"};
const $ = (id) => document.getElementById(id);

let sequence = 0;            // an answer to an older query than the latest is dropped
let shown = null;            // {query, json} of the result on the page
let activeTab = "latex";
const codeCache = new Map(); // "format?query" -> the command line's output
let liveTimer = null;
let pending = null;          // the AbortController of the query in flight

function query() {
  const q = new URLSearchParams();
  for (const field of FIELDS) {
    const value = $(field).value;
    if (ALWAYS_IN_LINK.has(field) || value.trim() !== "") q.set(field, value);
  }
  return q;
}

function fillForm(q) {
  for (const field of FIELDS) {
    const element = $(field);
    element.value = q.has(field) ? q.get(field) : element.defaultValue || (element.tagName === "SELECT" ? element.options[0].value : "");
  }
}

async function ask(q, extra, signal) {
  const parameters = new URLSearchParams(q);
  for (const [name, value] of Object.entries(extra)) parameters.set(name, value);
  const text = parameters.toString();
  if (text.length <= MAX_QUERY_LENGTH) return fetch("/api/diff?" + text, {signal});
  return fetch("/api/diff", {method: "POST", body: parameters, signal});   // sent form-encoded
}

async function askJSON(q, extra, signal) {
  let response;
  try {
    response = await ask(q, extra, signal);
    return await response.json();
  } catch (problem) {
    const status = response ? ` (HTTP ${response.status})` : "";
    return {ok: false, error: {type: "NetworkError", message: `the server did not answer${status}: ${problem.message}`,
                               line: null, column: null, source_line: null}};
  }
}

async function differentiate(withCheck) {
  const q = query();
  if (q.get("expr").trim() === "" || q.get("wrt").trim() === "") return;
  const mine = ++sequence;
  clearTimeout(liveTimer);
  if (pending) pending.abort();   // the server stops computing what nobody waits for
  pending = new AbortController();
  const signal = pending.signal;
  $("busy").hidden = false;
  const extra = withCheck ? {steps: "1", check: "1"} : {steps: "1"};
  let json = await askJSON(q, extra, signal);
  let noSteps = null;
  if (mine === sequence && !json.ok && stepsMayBeTheProblem(json.error)) {   // some results have no derivation
    const without = await askJSON(q, {...extra, steps: "0"}, signal);
    if (without.ok) [json, noSteps] = [without, json.error.message];
  }
  if (mine !== sequence) return;
  $("busy").hidden = true;
  const link = "/?" + q.toString();
  history.replaceState(null, "", link);
  $("permalink").href = link;
  if (json.ok) {
    showResult(q, json, noSteps);
  } else if (json.error.type === "CheckError" && shown && shown.query.toString() === q.toString()) {
    showCheck(false, json.error.message);
  } else {
    showError(json.error);
  }
}

function stepsMayBeTheProblem(error) {
  // an error with a place is the input's, a time-out would only repeat, a usage error is the query's
  return error.line === null && !["LimitError", "UsageError", "NetworkError"].includes(error.type);
}

function math(element, tex) {
  element.textContent = "";
  katex.render(tex, element, {displayMode: true, throwOnError: false, strict: "ignore"});
}

function showResult(q, json, noSteps) {
  shown = {query: q, json: json};
  $("error").hidden = true;
  $("expr").classList.remove("has-error");
  $("result").hidden = false;
  math($("equation"), json.equation);
  $("description").textContent = json.description;
  $("text").textContent = json.result;
  const warnings = $("warnings");
  warnings.textContent = "";
  for (const warning of json.warnings) {
    const item = document.createElement("li");
    item.textContent = "warning: " + warning;
    warnings.appendChild(item);
  }
  $("vec").hidden = json.vec === null;
  if (json.vec !== null) {
    $("vec-heading").textContent = "vec form: " + json.vec.heading + " (" + json.vec.shape.join(" x ") + ")";
    math($("vec-math"), json.vec.latex);
    $("vec-text").textContent = json.vec.result;
  }
  const rows = document.querySelector("#symbols tbody");
  rows.textContent = "";
  for (const [name, symbol] of Object.entries(json.symbols)) {
    const row = rows.insertRow();
    for (const cell of [name, symbol.kind, symbol.shape.join(" x ")]) row.insertCell().textContent = cell;
  }
  if (json.check !== null) showCheck(true, json.check.summary); else $("check-report").hidden = true;
  if (json.steps !== null) {
    math($("steps"), json.steps.latex);
  } else {
    $("steps").textContent = "No derivation for this one: " + noSteps;
  }
  showTab(activeTab);
}

function showCheck(passed, text) {
  const report = $("check-report");
  report.hidden = false;
  report.className = passed ? "passed" : "failed";
  report.querySelector("p").textContent = (passed ? "checked: " : "check failed: ") + text;
}

function showError(error) {
  $("result").hidden = true;
  shown = null;
  $("error").hidden = false;
  $("error-message").textContent = "matcalc: " + error.message;
  const place = $("error-place");
  place.textContent = "";
  $("error-where").textContent = "";
  const expr = $("expr");
  if (error.line === null || error.column === null || error.source_line === null) {
    expr.classList.remove("has-error");
    return;
  }
  const line = error.source_line;
  const at = error.column - 1;
  const mark = document.createElement("mark");
  mark.textContent = line.slice(at, at + 1) || " ";
  place.append(line.slice(0, at), mark, line.slice(at + 1), "\n" + " ".repeat(at) + "^");
  $("error-where").textContent = `line ${error.line}, column ${error.column}:`;
  // the same place in the input box: the command line reads the text without its leading blanks
  const text = expr.value;
  const leading = text.length - text.trimStart().length;
  const lines = text.trimStart().split("\n");
  let offset = leading + at;
  for (let i = 0; i < error.line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  expr.classList.add("has-error");
  if (document.activeElement !== expr) expr.setSelectionRange(offset, offset + 1);
}

async function showTab(name) {
  activeTab = name;
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  }
  const code = $("code");
  code.dataset.tab = name;
  if (!shown) return;
  const json = shown.json;
  if (name === "latex") {
    code.textContent = [json.equation, json.vec && json.vec.latex, json.steps && json.steps.latex]
      .filter(Boolean).join("\n\n");
  } else if (name === "json") {
    code.textContent = JSON.stringify(json, null, 2);
  } else {
    const format = name === "text" ? "text" : name;
    const key = format + "?" + shown.query.toString();
    if (!codeCache.has(key)) {
      code.textContent = "…";
      const extra = format === "text" ? {format: format, steps: "1"} : {format: format};
      const response = await ask(shown.query, extra).catch(() => null);
      codeCache.set(key, response ? await response.text() : "the server did not answer");
    }
    if (activeTab === name && shown) code.textContent = codeCache.get(key);
  }
}

async function copyCode() {
  const text = $("code").textContent;
  const button = $("copy");
  try {
    await navigator.clipboard.writeText(text);
  } catch (refused) {   // no clipboard permission: select the text, so Ctrl-C copies it
    const range = document.createRange();
    range.selectNodeContents($("code"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    button.textContent = "Selected: Ctrl-C copies";
    return;
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 1500);
}

async function loadGallery() {
  const examples = await (await fetch("/static/gallery.json")).json();
  const box = $("gallery-items");
  let group = null, list = null;
  for (const example of examples) {
    if (example.group !== group) {
      group = example.group;
      const heading = document.createElement("h3");
      heading.textContent = group;
      list = document.createElement("div");
      list.className = "examples";
      box.append(heading, list);
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "example";
    const title = document.createElement("span");
    title.textContent = example.title;
    const text = document.createElement("code");
    text.textContent = `${example.expr.replace(/\n/g, " ")}  by ${example.wrt}` + (example.order ? `, order ${example.order}` : "");
    button.append(title, text);
    button.addEventListener("click", () => {
      fillForm(new URLSearchParams(Object.entries(example).filter(([k]) => FIELDS.includes(k)).map(([k, v]) => [k, String(v)])));
      differentiate(false);
      window.scrollTo({top: 0});
    });
    list.appendChild(button);
  }
}

async function addCodeTabs() {
  // one tab for each code the command line writes (--format numpy, sympy, ...), before "Text"
  const {formats} = await (await fetch("/api/formats")).json();
  for (const format of formats.filter((f) => !["text", "latex", "json"].includes(f))) {
    const tab = document.createElement("button");
    tab.setAttribute("role", "tab");
    tab.dataset.tab = format;
    tab.textContent = TAB_NAMES[format] || format;
    tab.addEventListener("click", () => showTab(format));
    $("text-tab").before(tab);
  }
}

function start() {
  $("query").addEventListener("submit", (event) => { event.preventDefault(); differentiate(false); });
  $("check").addEventListener("click", () => differentiate(true));
  $("copy").addEventListener("click", copyCode);
  for (const tab of document.querySelectorAll("[role=tab]")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
  for (const field of ["expr", "wrt"]) {
    $(field).addEventListener("input", () => {
      clearTimeout(liveTimer);
      liveTimer = setTimeout(() => differentiate(false), LIVE_DELAY_MS);
    });
  }
  $("expr").addEventListener("keydown", (event) => {   // Ctrl-Enter: differentiate from the box
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); differentiate(false); }
  });
  for (const field of ["layout", "order", "symmetric_as"]) $(field).addEventListener("change", () => differentiate(false));
  addCodeTabs();
  loadGallery();
  const address = new URLSearchParams(location.search);
  if (address.has("expr")) {
    fillForm(address);
    differentiate(false);
  }
}

start();
