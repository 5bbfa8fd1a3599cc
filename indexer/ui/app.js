// loghaul's search page. Plain ES module, no build step, no framework.
//
// Every piece of log text reaches the page through textContent (see
// `visible`), never innerHTML: a line holding <script> or an onerror
// attribute is shown, not run.

const $ = (id) => document.getElementById(id);
const PAGE = 100;
const KEEP_LIVE = 1000;
const CUT = 10 * 1024;
const ROW = 22;
const LEVELS = ["FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"];
const FACET_FIELDS = ["level", "host", "source", "service"];

const state = {
  q: "",
  range: "1h", // a relative span, or "abs" with from/to (ms since the epoch)
  from: null,
  to: null,
  wrap: false,
  rehydrated: false, // also search what `loghaul archive reindex` brought back
  events: [],
  cursor: null,
  loading: null, // the next page being fetched
  selected: -1,
  linked: null, // the event id a link points at
  total: null,
  expanded: new Set(), // ids of lines shown whole past CUT
  heights: new Map(), // measured row heights when wrapping
  search: null, // AbortController of the search in flight
  live: null,
};

// ---------------------------------------------------------------- text

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Appends `text` to `parent` as text nodes; control characters (ANSI
 * escapes, bidi overrides) become visible marks instead of acting. */
function visible(parent, text) {
  let last = 0;
  for (const match of text.matchAll(CONTROL)) {
    if (match.index > last) parent.append(text.slice(last, match.index));
    const mark = document.createElement("span");
    mark.className = "ctl";
    const code = match[0].codePointAt(0);
    mark.textContent = code === 0x1b ? "ESC" : "U+" + code.toString(16).toUpperCase().padStart(4, "0");
    parent.append(mark);
    last = match.index + match[0].length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

/** `text` with the words of the query marked (client-side, from the
 * query's plain words), through `visible`. */
function highlighted(parent, text, words) {
  if (!words.length) return visible(parent, text);
  const lower = text.toLowerCase();
  let at = 0;
  while (at < text.length) {
    let best = -1;
    let length = 0;
    for (const word of words) {
      const found = lower.indexOf(word, at);
      if (found >= 0 && (best < 0 || found < best)) {
        best = found;
        length = word.length;
      }
    }
    if (best < 0) break;
    visible(parent, text.slice(at, best));
    const mark = document.createElement("mark");
    visible(mark, text.slice(best, best + length));
    parent.append(mark);
    at = best + length;
  }
  visible(parent, text.slice(at));
}

/** Marks `text` at `ranges`, byte offsets of its UTF-8 form (what
 * /api/search returns in `highlights`). */
function markedBytes(parent, text, ranges) {
  const spans = [];
  let byte = 0;
  let index = 0;
  let r = 0;
  let start = -1;
  while (index <= text.length && r < ranges.length) {
    if (start < 0 && byte >= ranges[r][0]) start = index;
    if (start >= 0 && byte >= ranges[r][1]) {
      spans.push([start, index]);
      start = -1;
      r++;
      continue;
    }
    if (index === text.length) break;
    const code = text.codePointAt(index);
    byte += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    index += code > 0xffff ? 2 : 1;
  }
  if (start >= 0) spans.push([start, text.length]);
  let at = 0;
  for (const [from, to] of spans) {
    visible(parent, text.slice(at, from));
    const mark = document.createElement("mark");
    visible(mark, text.slice(from, to));
    parent.append(mark);
    at = to;
  }
  visible(parent, text.slice(at));
}

function queryWords(q) {
  return (q.match(/"[^"]+"|[^\s()]+/g) || [])
    .filter((w) => !/^(AND|OR|NOT)$/.test(w) && !w.includes(":") && !w.startsWith("-"))
    .map((w) => w.replace(/^\+|"/g, "").replace(/[*?]/g, "").toLowerCase())
    .filter((w) => w.length > 1);
}

function levelClass(text) {
  const t = (text || "").toUpperCase();
  if (t.startsWith("FATAL") || t.startsWith("CRIT") || t.startsWith("EMERG") || t.startsWith("ALERT")) return "lvl-fatal";
  if (t.startsWith("ERR")) return "lvl-error";
  if (t.startsWith("WARN")) return "lvl-warn";
  if (t.startsWith("INFO") || t === "NOTICE") return "lvl-info";
  if (t.startsWith("DEBUG")) return "lvl-debug";
  if (t.startsWith("TRACE")) return "lvl-trace";
  return "";
}

function time(nanos) {
  const ms = Number(BigInt(nanos) / 1000000n);
  const date = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** JSON.parse that keeps integers past 2^53 exact, as BigInt (nanosecond
 * times, 64-bit ids in attributes), where the browser hands the reviver a
 * number's source text; elsewhere they are rounded as before. */
function parseJson(text) {
  return JSON.parse(text, (key, value, context) =>
    typeof value === "number" && !Number.isSafeInteger(value) && context && /^-?\d+$/.test(context.source)
      ? BigInt(context.source)
      : value);
}

/** JSON.stringify replacer writing BigInts (see `parseJson`) digit for digit. */
function exact(key, value) {
  if (typeof value !== "bigint") return value;
  return JSON.rawJSON ? JSON.rawJSON(String(value)) : Number(value);
}

/** `event` without the fields the page adds (`_marks`, `_fresh`); an
 * attribute of the event's own named `_…` stays. */
function plain(event) {
  const { _marks: marks, _fresh: fresh, ...rest } = event;
  return rest;
}

// ---------------------------------------------------------------- API

// A link may hand the token over in its fragment (`/#token=…`, never sent
// to the server): kept for the session, then taken out of the address bar.
{
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    sessionStorage.setItem("loghaul.token", fragment.get("token"));
    fragment.delete("token");
    const rest = fragment.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  }
}

function token() {
  return sessionStorage.getItem("loghaul.token");
}

let asking = null;
/** Asks for the token once, however many requests got a 401 meanwhile. */
function askToken() {
  asking ||= new Promise((resolve) => {
    const dialog = $("token-dialog");
    $("token").value = "";
    dialog.onclose = () => {
      const value = $("token").value.trim();
      if (value) sessionStorage.setItem("loghaul.token", value);
      asking = null;
      resolve(Boolean(value));
    };
    dialog.showModal();
  });
  return asking;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body.error || `HTTP ${status}`);
    this.status = status;
    this.position = body.position;
  }
}

/** GET `path` with `params`; asks for the token on a 401 and retries. */
async function api(path, params, signal) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, value);
  }
  if (state.rehydrated && path !== "/api/rehydrations") query.set("rehydrated", "1");
  for (;;) {
    const headers = {};
    if (token()) headers.Authorization = `Bearer ${token()}`;
    const response = await fetch(`${path}?${query}`, { headers, signal });
    if (response.status === 401) {
      if (await askToken()) continue;
      throw new ApiError(401, { error: "this API needs its token" });
    }
    const body = await response.text().then(parseJson).catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }
}

function rangeParams() {
  if (state.range === "abs" && state.from !== null && state.to !== null) {
    return { from: new Date(state.from).toISOString(), to: new Date(state.to).toISOString() };
  }
  return { since: state.range === "abs" ? "1h" : state.range };
}

/** [from, to] in ms for the histogram. */
function rangeMillis() {
  if (state.range === "abs" && state.from !== null && state.to !== null) return [state.from, state.to];
  const units = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 };
  const match = /^(\d+)([smhd])$/.exec(state.range) || [null, "1", "h"];
  const to = Date.now();
  return [to - Number(match[1]) * units[match[2]], to];
}

// ---------------------------------------------------------------- URL

function readUrl() {
  const params = new URLSearchParams(location.search);
  state.q = params.get("q") || "";
  const from = params.get("from");
  const to = params.get("to");
  if (from && to && !Number.isNaN(Date.parse(from)) && !Number.isNaN(Date.parse(to))) {
    state.range = "abs";
    state.from = Date.parse(from);
    state.to = Date.parse(to);
  } else {
    state.range = params.get("since") || "1h";
  }
  state.wrap = params.get("wrap") === "1";
  state.rehydrated = params.get("rehydrated") === "1";
  state.linked = params.get("event");
}

function writeUrl(push) {
  const params = new URLSearchParams();
  if (state.q) params.set("q", state.q);
  if (state.range === "abs" && state.from !== null) {
    params.set("from", new Date(state.from).toISOString());
    params.set("to", new Date(state.to).toISOString());
  } else if (state.range !== "1h") {
    params.set("since", state.range);
  }
  if (state.wrap) params.set("wrap", "1");
  if (state.rehydrated) params.set("rehydrated", "1");
  if (state.linked) params.set("event", state.linked);
  const url = `${location.pathname}${params.size ? "?" + params : ""}`;
  if (url !== location.pathname + location.search) history[push ? "pushState" : "replaceState"](null, "", url);
}

function showControls() {
  $("q").value = state.q;
  const known = [...$("range").options].some((o) => o.value === state.range);
  if (!known) {
    const option = new Option(`Last ${state.range}`, state.range);
    $("range").add(option, $("range").options.length - 1);
  }
  $("range").value = state.range;
  $("absolute").hidden = state.range !== "abs";
  const local = (ms) => {
    const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
    return date.toISOString().slice(0, 23);
  };
  if (state.range === "abs" && state.from !== null) {
    $("from").value = local(state.from);
    $("to").value = local(state.to);
  }
  $("wrap").setAttribute("aria-pressed", String(state.wrap));
  $("rehydrated").setAttribute("aria-pressed", String(state.rehydrated));
  if (state.rehydrated) $("rehydrated").hidden = false;
  $("results").classList.toggle("wrap", state.wrap);
}

// ---------------------------------------------------------------- errors

function showError(error, where) {
  const box = $("error");
  if (!error) {
    box.hidden = true;
    $("q").removeAttribute("aria-invalid");
    $("query-mirror").replaceChildren();
    return;
  }
  box.hidden = false;
  box.textContent = `${where}: ${error.message}`;
  if (error.position !== undefined && error.position !== null) {
    // Underline the query at the byte position the server names.
    const bytes = new TextEncoder().encode(state.q);
    const before = new TextDecoder().decode(bytes.slice(0, error.position));
    const at = Math.min(before.length, Math.max(0, state.q.length - 1));
    const mirror = $("query-mirror");
    const bad = document.createElement("span");
    bad.className = "bad";
    bad.textContent = state.q.slice(at, at + 1) || " ";
    mirror.replaceChildren(state.q.slice(0, at), bad, state.q.slice(at + 1));
    mirror.style.height = "0.3em";
    $("q").setAttribute("aria-invalid", "true");
    box.textContent += ` (at character ${at + 1})`;
  }
}

// ---------------------------------------------------------------- search

async function runSearch(push = true) {
  state.q = $("q").value;
  if (state.search) state.search.abort(); // the server stops the old query
  const controller = new AbortController();
  state.search = controller;
  writeUrl(push);
  showError(null);
  state.events = [];
  state.cursor = null;
  state.total = null;
  state.selected = -1;
  state.heights.clear();
  $("status").textContent = "searching…";
  renderRows();
  const signal = controller.signal;
  const range = rangeParams();
  const started = performance.now();
  try {
    const page = api("/api/search", { q: state.q, limit: PAGE, ...range }, signal);
    const count = api("/api/count", { q: state.q, ...range }, signal);
    const first = await page;
    state.answered = performance.now();
    withMarks(first);
    state.events = first.events;
    state.cursor = first.next_cursor || null;
    renderRows();
    state.total = (await count).count;
    $("count").textContent = `${state.total.toLocaleString()} events`;
    $("status").textContent = `${Math.round(performance.now() - started)} ms`;
    if (state.linked) revealLinked();
    const fields = loadFields(signal);
    fields.catch((error) => { if (error.name !== "AbortError") showError(error, "fields"); });
    drawHistogram(signal, fields).catch((error) => { if (error.name !== "AbortError") showError(error, "histogram"); });
  } catch (error) {
    if (error.name === "AbortError") return;
    $("status").textContent = "";
    $("count").textContent = "";
    showError(error, "search");
  }
}

/** Keeps the server's highlight ranges with their events. */
function withMarks(page) {
  (page.highlights || []).forEach((ranges, i) => {
    if (page.events[i]) page.events[i]._marks = ranges;
  });
}

async function loadMore() {
  if (state.loading) return state.loading;
  if (!state.cursor) return;
  let done;
  state.loading = new Promise((resolve) => {
    done = resolve;
  });
  const signal = state.search ? state.search.signal : undefined;
  try {
    const page = await api("/api/search", { q: state.q, limit: PAGE, cursor: state.cursor, ...rangeParams() }, signal);
    withMarks(page);
    state.events.push(...page.events);
    state.cursor = page.next_cursor || null;
    renderRows();
  } catch (error) {
    if (error.name !== "AbortError") showError(error, "next page");
  } finally {
    state.loading = null;
    done();
  }
}

function revealLinked() {
  const index = state.events.findIndex((event) => event.id === state.linked);
  if (index < 0) {
    if (state.cursor) loadMore().then(revealLinked);
    return;
  }
  select(index, true);
  openDetail(state.events[index]);
}

// ---------------------------------------------------------------- rows

function rowHeight(index) {
  return state.wrap ? state.heights.get(index) || ROW : ROW;
}

function offsets() {
  const tops = new Array(state.events.length + 1);
  tops[0] = 0;
  for (let i = 0; i < state.events.length; i++) tops[i + 1] = tops[i] + rowHeight(i);
  return tops;
}

let drawQueued = false;
function renderRows() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    drawRows();
  });
}

function drawRows() {
  const results = $("results");
  const spacer = $("spacer");
  const tops = offsets();
  spacer.style.height = `${tops[tops.length - 1]}px`;
  const top = results.scrollTop;
  const bottom = top + results.clientHeight;
  let first = 0;
  let low = 0;
  let high = state.events.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (tops[mid + 1] <= top) low = mid + 1;
    else high = mid;
  }
  first = Math.max(0, low - 5);
  let last = first;
  while (last < state.events.length && tops[last] < bottom) last++;
  last = Math.min(state.events.length, last + 5);
  const words = queryWords(state.q);
  const rows = [];
  for (let i = first; i < last; i++) rows.push(row(state.events[i], i, tops[i], words));
  spacer.replaceChildren(...rows);
  if (state.answered && state.events.length) {
    // From the API's answer to its rows painted (the next frame): a figure
    // the tests print.
    const answered = state.answered;
    state.answered = null;
    requestAnimationFrame(() => {
      state.drawnMs = performance.now() - answered;
    });
  }
  if (state.wrap) {
    let changed = false;
    for (const element of rows) {
      const index = Number(element.dataset.index);
      const height = element.offsetHeight;
      if (state.heights.get(index) !== height) {
        state.heights.set(index, height);
        changed = true;
      }
    }
    if (changed) renderRows();
  }
  if (state.cursor && last >= state.events.length - 20) loadMore();
}

function row(event, index, top, words) {
  const element = document.createElement("div");
  element.className = "row";
  element.setAttribute("role", "listitem");
  element.dataset.index = String(index);
  element.dataset.id = event.id;
  element.style.transform = `translateY(${top}px)`;
  if (index === state.selected) element.classList.add("selected");
  if (event.id === state.linked) element.classList.add("linked");
  if (event._fresh) element.classList.add("fresh");
  const t = document.createElement("span");
  t.className = "t";
  t.textContent = time(event.timestamp_unix_nano);
  const level = document.createElement("span");
  const text = event.severity && event.severity.text;
  level.className = `lvl ${levelClass(text)}`;
  level.textContent = text || "";
  const body = document.createElement("span");
  body.className = "body";
  const whole = event.body || "";
  const cut = whole.length > CUT && !state.expanded.has(event.id);
  if (cut) {
    // First in the line, so it shows whatever the width.
    const more = document.createElement("button");
    more.className = "more";
    more.type = "button";
    more.textContent = `show all (${(whole.length / 1024).toFixed(0)} KB)`;
    more.addEventListener("click", (click) => {
      click.stopPropagation();
      state.expanded.add(event.id);
      state.heights.delete(index);
      renderRows();
    });
    body.append(more, " ");
  }
  let shown = cut ? whole.slice(0, CUT) : whole;
  if (state.wrap && !cut && !event._marks && /^\s*[{[]/.test(shown)) {
    // Pretty JSON bodies when wrapping (not when the server marked words:
    // its byte ranges are of the body as written).
    try {
      shown = JSON.stringify(parseJson(shown), exact, 2);
    } catch {
      // Not JSON after all: as written.
    }
  }
  if (event._marks) markedBytes(body, shown, event._marks);
  else highlighted(body, shown, words); // live tail: no server ranges
  if (cut) body.append("…");
  element.append(t, level, body);
  element.addEventListener("click", () => {
    select(index, false);
    openDetail(event);
  });
  return element;
}

function select(index, scroll) {
  state.selected = Math.max(0, Math.min(index, state.events.length - 1));
  if (scroll) {
    const tops = offsets();
    // The list may not be laid out yet (a link opened at load): give it its
    // height first, or the scroll is clamped to 0.
    $("spacer").style.height = `${tops[tops.length - 1]}px`;
    const results = $("results");
    const top = tops[state.selected];
    if (top < results.scrollTop || top + ROW > results.scrollTop + results.clientHeight) {
      results.scrollTop = Math.max(0, top - results.clientHeight / 3);
    }
  }
  renderRows();
}

// ---------------------------------------------------------------- detail

function addFilter(field, value, exclude) {
  // A facet's value is filtered exactly as counted: a bare level word would
  // find every spelling of its level, a quoted one only itself.
  const bare = field !== "level" && /^[\w.\-/@]+$/.test(value);
  const quoted = bare ? value : `"${value.replace(/"/g, '\\"')}"`;
  const clause = `${exclude ? "-" : ""}${field}:${quoted}`;
  $("q").value = state.q.trim() ? `${state.q.trim()} ${clause}` : clause;
  runSearch();
}

function filterButtons(cell, field, value) {
  for (const [label, exclude] of [["+", false], ["−", true]]) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.title = exclude ? `filter out ${field}:${value}` : `filter for ${field}:${value}`;
    button.setAttribute("aria-label", button.title);
    button.addEventListener("click", () => addFilter(field, value, exclude));
    cell.append(button);
  }
}

function flatten(prefix, value, out) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(prefix ? `${prefix}.${key}` : key, inner, out);
  } else {
    out.push([prefix, value]);
  }
}

function openDetail(event) {
  state.linked = event.id;
  writeUrl(false);
  const table = $("detail-fields");
  const rows = [];
  const add = (name, value, field) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = name;
    const td = document.createElement("td");
    if (typeof value === "string" && /^\s*[{[]/.test(value)) {
      try {
        const pre = document.createElement("pre");
        visible(pre, JSON.stringify(parseJson(value), exact, 2));
        td.append(pre);
      } catch {
        visible(td, value);
      }
    } else {
      visible(td, value === null || value === undefined ? "" : String(value));
    }
    if (field && value !== null && value !== undefined && value !== "") filterButtons(td, field, String(value));
    tr.append(th, td);
    rows.push(tr);
  };
  add("time", time(event.timestamp_unix_nano));
  add("level", event.severity && event.severity.text, "level");
  add("host", event.resource.host, "host");
  add("source", event.resource.source, "source");
  if (event.resource.service) add("service", event.resource.service, "service");
  add("body", event.body);
  const attributes = [];
  flatten("", event.attributes || {}, attributes);
  for (const [name, value] of attributes) add(name, typeof value === "object" ? JSON.stringify(value, exact) : value, name);
  if (event.parse_error) add("parse_error", event.parse_error);
  add("offset", event.offset);
  add("id", event.id);
  table.replaceChildren(...rows);
  $("detail").hidden = false;
  $("copy-json").onclick = () => copyJson(event);
  loadContext(event).catch((error) => showError(error, "context"));
  loadArchived(event, table).catch((error) => showError(error, "archive"));
}

/** Copies `event` as JSON (without the page's own fields) and says so.
 * The Clipboard API exists only on https and loopback pages; elsewhere a
 * selected text area is copied the old way. */
async function copyJson(event) {
  const text = JSON.stringify(plain(event), exact, 2);
  const button = $("copy-json");
  try {
    if (navigator.clipboard) {
      await navigator.clipboard.writeText(text);
    } else {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      const copied = document.execCommand("copy");
      area.remove();
      if (!copied) throw new Error("the browser refused");
    }
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy JSON"; }, 1500);
  } catch (error) {
    showError(new Error(`could not copy: ${error.message}`), "copy");
  }
}

/** Adds the event's archived file, with a download, once it is archived. */
async function loadArchived(event, table) {
  let answer;
  try {
    answer = await api("/api/archived", { id: event.id });
  } catch (error) {
    if (error.status === 404) return; // no archive on this server
    throw error;
  }
  if (state.linked !== event.id) return; // another event is open now
  const tr = document.createElement("tr");
  const th = document.createElement("th");
  th.textContent = "archived file";
  const td = document.createElement("td");
  td.id = "archived";
  if (!answer.archived) {
    td.textContent = "not archived yet: the file is archived when it rotates";
  } else {
    const object = answer.object;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    visible(button, `${object.raw_name}.gz`);
    button.title = `${object.key} in ${answer.store}`;
    button.onclick = () => downloadArchived(event.id, `${object.raw_name}.gz`).catch((error) => showError(error, "archive"));
    const about = document.createElement("div");
    about.className = "muted";
    about.textContent = `${object.line_count.toLocaleString()} lines, ${object.raw_size.toLocaleString()} bytes, sha256 ${object.sha256}`;
    td.append(button, about);
  }
  tr.append(th, td);
  table.append(tr);
}

/** Fetches with the token (a plain link could not send it) and saves. */
async function downloadArchived(id, name) {
  const headers = {};
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch(`/api/archived/object?${new URLSearchParams({ id })}`, { headers });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
  saveBlob(await response.blob(), name);
}

function saveBlob(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

async function loadContext(event) {
  const answer = await api("/api/context", { id: event.id, before: 10, after: 10 });
  const lines = [];
  const line = (e, here) => {
    const div = document.createElement("div");
    if (here) div.className = "here";
    visible(div, e.body || "");
    lines.push(div);
  };
  answer.before.forEach((e) => line(e, false));
  line(answer.event, true);
  answer.after.forEach((e) => line(e, false));
  $("context").replaceChildren(...lines);
}

function closeDetail() {
  $("detail").hidden = true;
  state.linked = null;
  writeUrl(false);
}

// ---------------------------------------------------------------- fields

/** The attribute keys most events of the first page carry. */
function commonAttributes(count) {
  const seen = new Map();
  for (const event of state.events.slice(0, PAGE)) {
    const out = [];
    flatten("", event.attributes || {}, out);
    for (const [name, value] of out) {
      if (value !== null && typeof value !== "object") seen.set(name, (seen.get(name) || 0) + 1);
    }
  }
  return [...seen.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, count).map(([name]) => name);
}

async function loadFields(signal) {
  const range = rangeParams();
  const fields = FACET_FIELDS.map((field) => [field, 10]).concat(commonAttributes(4).map((field) => [field, 5]));
  const answers = await Promise.all(
    fields.map(([field, limit]) => api("/api/facets", { q: state.q, field, limit, ...range }, signal)),
  );
  const parts = [];
  for (const answer of answers) {
    const heading = document.createElement("h2");
    heading.textContent = answer.field;
    parts.push(heading);
    for (const { value, count } of answer.values) {
      const line = document.createElement("div");
      line.className = "facet";
      const v = document.createElement("span");
      v.className = "v";
      v.title = value;
      visible(v, value);
      const pct = document.createElement("span");
      pct.className = "pct";
      const share = state.total ? (100 * count) / state.total : 0;
      pct.textContent = `${count.toLocaleString()} · ${share.toFixed(share < 10 ? 1 : 0)}%`;
      const cell = document.createElement("span");
      filterButtons(cell, answer.field, value);
      line.append(v, pct, cell);
      parts.push(line);
    }
  }
  $("fields").replaceChildren(...parts);
  state.facets = answers;
  return answers;
}

// ---------------------------------------------------------------- histogram

let chart = null;
const COLORS = { FATAL: "#7b1fa2", ERROR: "#d32f2f", WARN: "#f0a020", INFO: "#43a047", DEBUG: "#8d99ae", TRACE: "#b0bec5", other: "#5c7cfa" };

/** `fields`: the sidebar's facets, whose level values name the stacks. */
async function drawHistogram(signal, fields) {
  const [fromMs, toMs] = rangeMillis();
  const interval = Math.max(1000, Math.ceil((toMs - fromMs) / 80 / 1000) * 1000);
  const base = { from: String(BigInt(Math.floor(fromMs)) * 1000000n), to: String(BigInt(Math.floor(toMs)) * 1000000n), interval: `${interval / 1000}s` };
  const levels = (await fields).find((answer) => answer.field === "level");
  const names = levels.values.map((v) => v.value).filter((v) => v).slice(0, 6);
  const scoped = (name) => (state.q.trim() ? `(${state.q}) AND level:"${name}"` : `level:"${name}"`);
  const [total, ...parts] = await Promise.all([
    api("/api/histogram", { q: state.q, ...base }, signal),
    ...names.map((name) => api("/api/histogram", { q: scoped(name), ...base }, signal)),
  ]);
  const xs = total.buckets.map((b) => Number(BigInt(b.start) / 1000000n) / 1000);
  const index = new Map(total.buckets.map((b, i) => [b.start, i]));
  const series = names.map((name, k) => {
    const counts = new Array(xs.length).fill(0);
    for (const b of parts[k].buckets) if (index.has(b.start)) counts[index.get(b.start)] = b.count;
    return { name, counts };
  });
  const other = total.buckets.map((b, i) => b.count - series.reduce((sum, s) => sum + s.counts[i], 0));
  series.push({ name: "other", counts: other });
  // Stacked: each series drawn as the running sum, largest first.
  const stacked = [];
  let running = new Array(xs.length).fill(0);
  for (const s of series) {
    running = running.map((sum, i) => sum + s.counts[i]);
    stacked.push(running);
  }
  const data = [xs, ...stacked.slice().reverse()];
  const seriesOpts = [{}].concat(series.slice().reverse().map((s) => ({
    label: s.name,
    fill: COLORS[s.name.toUpperCase()] || COLORS[s.name] || COLORS.other,
    stroke: COLORS[s.name.toUpperCase()] || COLORS[s.name] || COLORS.other,
    paths: window.uPlot.paths.bars({ size: [0.9, 40] }),
    points: { show: false },
    value: (u, v, si, i) => (i === null ? "" : String(series[series.length - si].counts[i])),
  })));
  const element = $("histogram");
  if (chart) chart.destroy();
  chart = new window.uPlot({
    width: element.clientWidth || 800,
    height: 110,
    legend: { show: true, live: true },
    cursor: { drag: { x: true, y: false, setScale: false } },
    scales: { x: { time: true } },
    axes: [{ stroke: "#8892a0" }, { stroke: "#8892a0", size: 50 }],
    series: seriesOpts,
    hooks: {
      setSelect: [(u) => {
        if (u.select.width < 3) return;
        const from = u.posToVal(u.select.left, "x") * 1000;
        const to = u.posToVal(u.select.left + u.select.width, "x") * 1000;
        u.setSelect({ left: 0, width: 0 }, false);
        zoom(from, to);
      }],
    },
  }, data, element);
  state.chartRange = [fromMs, toMs];
  state.buckets = { xs, interval };
}

/** A click on a bar zooms to its bucket (a drag is handled by uPlot). */
function clickBar() {
  if (!chart || !state.buckets) return;
  const i = chart.cursor.idx;
  if (i === null || i === undefined || chart.select.width > 2) return;
  const start = state.buckets.xs[i] * 1000;
  zoom(start, start + state.buckets.interval);
}

function zoom(from, to) {
  state.range = "abs";
  state.from = Math.floor(from);
  state.to = Math.ceil(to);
  showControls();
  runSearch();
}

// ---------------------------------------------------------------- live tail

function startLive() {
  const live = {
    controller: new AbortController(),
    paused: false,
    times: [],
    backoff: 500,
    down: null, // why the stream is down, while it is
    // Event time (ns) from which a reconnect catches up: the newest event
    // the stream brought, or when it was first opened.
    mark: BigInt(Date.now()) * 1000000n,
    // Ids of the latest events brought (insertion order, at most twice
    // KEEP_LIVE): a catch-up and the new stream may both bring one.
    delivered: new Set(),
  };
  state.live = live;
  $("live").setAttribute("aria-pressed", "true");
  $("live-bar").hidden = false;
  state.events = [];
  state.cursor = null;
  renderRows();
  const connect = async () => {
    while (state.live === live) {
      try {
        const headers = { Accept: "text/event-stream" };
        if (token()) headers.Authorization = `Bearer ${token()}`;
        const response = await fetch(`/api/tail?${new URLSearchParams({ q: state.q })}`, { headers, signal: live.controller.signal });
        if (response.status === 401 && (await askToken())) continue;
        if (!response.ok) throw new Error(`tail: HTTP ${response.status}`);
        live.backoff = 500;
        const reconnected = live.down !== null;
        live.down = null;
        $("live-rate").textContent = "connected";
        // The tail starts now: what was indexed while it was down comes
        // from a search from the last event seen.
        if (reconnected) catchUp(live).catch((error) => { if (error.name !== "AbortError") showError(error, "live tail"); });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
            if (data) arrived(live, parseJson(data));
          }
        }
        live.down = "the stream ended";
      } catch (error) {
        if (error.name === "AbortError") return;
        live.down = error.message;
      }
      $("live-rate").textContent = `reconnecting: ${live.down}`;
      await new Promise((resolve) => setTimeout(resolve, live.backoff));
      live.backoff = Math.min(live.backoff * 2, 10000);
    }
  };
  connect();
  live.timer = setInterval(() => {
    // While down, the reason stays shown, whatever the rate was.
    if (live.down !== null) return;
    const now = performance.now();
    live.times = live.times.filter((t) => now - t < 5000);
    $("live-rate").textContent = `${(live.times.length / 5).toFixed(1)} lines/s, keeping the last ${KEEP_LIVE.toLocaleString()}${live.paused ? " (paused)" : ""}`;
  }, 1000);
}

/** After a reconnect: the events from the newest seen (less a second)
 * that the stream has not brought, oldest first. Events stamped earlier
 * than that, indexed while the stream was down, are not caught up. */
async function catchUp(live) {
  const from = String(live.mark - 1000000000n);
  const page = await api("/api/search", { q: state.q, from, limit: KEEP_LIVE }, live.controller.signal);
  if (state.live !== live) return;
  for (const event of page.events.slice().reverse()) arrived(live, event);
}

function arrived(live, event) {
  if (live.delivered.has(event.id)) return;
  live.delivered.add(event.id);
  if (live.delivered.size > 2 * KEEP_LIVE) live.delivered.delete(live.delivered.values().next().value);
  const at = BigInt(event.timestamp_unix_nano);
  if (at > live.mark) live.mark = at;
  live.times.push(performance.now());
  if (live.paused) (live.held ||= []).push(event);
  else show(event);
}

/** Puts a live event at the top, marked new for a moment. */
function show(event) {
  event._fresh = true;
  setTimeout(() => { event._fresh = false; renderRows(); }, 1500);
  state.events.unshift(event);
  if (state.events.length > KEEP_LIVE) state.events.length = KEEP_LIVE;
  state.heights.clear();
  renderRows();
}

function stopLive() {
  if (!state.live) return;
  state.live.controller.abort();
  clearInterval(state.live.timer);
  state.live = null;
  $("live").setAttribute("aria-pressed", "false");
  $("live-bar").hidden = true;
}

/** Shows the Rehydrated switch when `loghaul archive reindex` made any. */
async function showRehydrations() {
  const answer = await api("/api/rehydrations", {});
  const current = answer.rehydrations || [];
  const button = $("rehydrated");
  if (!current.length && !state.rehydrated) return;
  const events = current.reduce((sum, r) => sum + r.events, 0);
  button.textContent = `Rehydrated (${current.length})`;
  button.title = current.length
    ? `Also search ${events.toLocaleString()} events brought back from the archive; ` +
      current.map((r) => `${r.id} until ${new Date(Number(BigInt(r.expires_unix_nano) / 1000000n)).toISOString()}`).join(", ")
    : "No rehydration is current";
  button.hidden = false;
}

// ---------------------------------------------------------------- export

async function exportAs(kind) {
  const parts = [];
  if (kind === "csv") parts.push("time,level,host,source,body\n");
  const csv = (value) => `"${String(value ?? "").replace(/"/g, '""')}"`;
  let cursor = null;
  let total = 0;
  do {
    const page = await api("/api/search", { q: state.q, limit: 1000, cursor, ...rangeParams() });
    for (const event of page.events) {
      if (kind === "csv") {
        const t = new Date(Number(BigInt(event.timestamp_unix_nano) / 1000000n)).toISOString();
        parts.push([t, event.severity && event.severity.text, event.resource.host, event.resource.source, event.body].map(csv).join(",") + "\n");
      } else {
        parts.push(JSON.stringify(plain(event), exact) + "\n");
      }
    }
    total += page.events.length;
    $("status").textContent = `exporting… ${total.toLocaleString()}`;
    cursor = page.next_cursor;
  } while (cursor);
  const blob = new Blob(parts, { type: kind === "csv" ? "text/csv" : "application/x-ndjson" });
  saveBlob(blob, `loghaul-${new Date().toISOString().replace(/[:.]/g, "-")}.${kind === "csv" ? "csv" : "ndjson"}`);
  $("status").textContent = `exported ${total.toLocaleString()} events`;
}

// ---------------------------------------------------------------- autocomplete

const RAW_FIELDS = ["level", "host", "source", "service", "file", "body", "severity"];

function suggestions() {
  const input = $("q");
  const text = input.value.slice(0, input.selectionStart ?? input.value.length);
  const word = /[^\s()]*$/.exec(text)[0].replace(/^[-+]/, "");
  if (!word) return [];
  const colon = word.indexOf(":");
  if (colon > 0) {
    const field = word.slice(0, colon);
    const typed = word.slice(colon + 1).replace(/^"/, "").toLowerCase();
    const facet = (state.facets || []).find((f) => f.field === field);
    if (!facet) return [];
    return facet.values
      .filter((v) => v.value.toLowerCase().startsWith(typed))
      .map((v) => ({ text: `${field}:${/^[\w.\-/@]+$/.test(v.value) ? v.value : `"${v.value}"`}`, note: v.count.toLocaleString(), replace: word.length }));
  }
  const names = new Set(RAW_FIELDS);
  for (const event of state.events.slice(0, 200)) {
    const out = [];
    flatten("", event.attributes || {}, out);
    out.forEach(([name]) => names.add(name));
  }
  return [...names]
    .filter((name) => name.startsWith(word.toLowerCase()) && name !== word)
    .sort()
    .slice(0, 12)
    .map((name) => ({ text: `${name}:`, note: "field", replace: word.length }));
}

let suggestIndex = -1;
function showSuggestions() {
  const list = $("suggest");
  const items = suggestions();
  suggestIndex = -1;
  if (!items.length || document.activeElement !== $("q")) {
    list.hidden = true;
    return;
  }
  list.replaceChildren(...items.map((item, i) => {
    const li = document.createElement("li");
    li.setAttribute("role", "option");
    li.id = `suggest-${i}`;
    const text = document.createElement("span");
    text.textContent = item.text;
    const note = document.createElement("span");
    note.className = "n";
    note.textContent = item.note;
    li.append(text, note);
    li.addEventListener("mousedown", (down) => {
      down.preventDefault();
      accept(item);
    });
    li._item = item;
    return li;
  }));
  list.hidden = false;
}

function accept(item) {
  const input = $("q");
  const at = input.selectionStart ?? input.value.length;
  const before = input.value.slice(0, at - item.replace);
  input.value = before + item.text + input.value.slice(at);
  const caret = before.length + item.text.length;
  input.setSelectionRange(caret, caret);
  $("suggest").hidden = true;
  if (item.text.endsWith(":")) showSuggestions();
}

function moveSuggestion(step) {
  const items = [...$("suggest").children];
  if ($("suggest").hidden || !items.length) return false;
  suggestIndex = (suggestIndex + step + items.length) % items.length;
  items.forEach((li, i) => li.setAttribute("aria-selected", String(i === suggestIndex)));
  $("q").setAttribute("aria-activedescendant", items[suggestIndex].id);
  return true;
}

// ---------------------------------------------------------------- wiring

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem("loghaul.theme", theme);
  $("theme").value = theme;
}

function wire() {
  $("search").addEventListener("submit", (submit) => {
    submit.preventDefault();
    $("suggest").hidden = true;
    stopLive();
    runSearch();
  });
  $("q").addEventListener("input", showSuggestions);
  $("q").addEventListener("blur", () => { $("suggest").hidden = true; });
  $("q").addEventListener("keydown", (key) => {
    if (key.key === "ArrowDown" && moveSuggestion(1)) key.preventDefault();
    else if (key.key === "ArrowUp" && moveSuggestion(-1)) key.preventDefault();
    else if ((key.key === "Tab" || key.key === "Enter") && !$("suggest").hidden && suggestIndex >= 0) {
      key.preventDefault();
      accept($("suggest").children[suggestIndex]._item);
    } else if (key.key === "Escape") {
      $("suggest").hidden = true;
    }
  });
  $("range").addEventListener("change", () => {
    const value = $("range").value;
    if (value === "abs") {
      const [from, to] = rangeMillis();
      state.range = "abs";
      state.from = from;
      state.to = to;
      showControls();
      return;
    }
    state.range = value;
    showControls();
    runSearch();
  });
  for (const id of ["from", "to"]) {
    $(id).addEventListener("change", () => {
      const from = Date.parse($("from").value);
      const to = Date.parse($("to").value);
      if (!Number.isNaN(from) && !Number.isNaN(to) && from < to) {
        state.from = from;
        state.to = to;
        runSearch();
      }
    });
  }
  $("rehydrated").addEventListener("click", () => {
    state.rehydrated = !state.rehydrated;
    showControls();
    writeUrl(true);
    runSearch(false);
  });
  $("wrap").addEventListener("click", () => {
    state.wrap = !state.wrap;
    state.heights.clear();
    showControls();
    writeUrl(false);
    renderRows();
  });
  $("results").addEventListener("scroll", renderRows, { passive: true });
  window.addEventListener("resize", () => {
    renderRows();
    if (chart) chart.setSize({ width: $("histogram").clientWidth, height: 110 });
  });
  $("close-detail").addEventListener("click", closeDetail);
  $("histogram").addEventListener("click", clickBar);
  $("live").addEventListener("click", () => (state.live ? (stopLive(), runSearch()) : startLive()));
  $("live-pause").addEventListener("click", () => {
    const live = state.live;
    if (!live) return;
    live.paused = !live.paused;
    $("live-pause").textContent = live.paused ? "Resume" : "Pause";
    if (!live.paused && live.held) {
      const held = live.held;
      live.held = [];
      held.forEach(show);
    }
  });
  $("live-clear").addEventListener("click", () => {
    state.events = [];
    renderRows();
  });
  $("export-ndjson").addEventListener("click", () => exportAs("ndjson").catch((e) => showError(e, "export")));
  $("export-csv").addEventListener("click", () => exportAs("csv").catch((e) => showError(e, "export")));
  $("theme").addEventListener("change", () => applyTheme($("theme").value));
  $("keys").addEventListener("click", () => $("keys-dialog").showModal());
  window.addEventListener("popstate", () => {
    readUrl();
    showControls();
    runSearch(false);
  });
  document.addEventListener("keydown", (key) => {
    const typing = key.target instanceof HTMLInputElement || key.target instanceof HTMLSelectElement;
    if (key.key === "Escape") {
      if (!$("detail").hidden) closeDetail();
      if (typing) key.target.blur();
      return;
    }
    if (typing || key.ctrlKey || key.metaKey || key.altKey) return;
    if (key.key === "/") {
      key.preventDefault();
      $("q").focus();
      $("q").select();
    } else if (key.key === "j" || key.key === "k") {
      select(state.selected + (key.key === "j" ? 1 : -1), true);
    } else if (key.key === "Enter" && state.selected >= 0) {
      openDetail(state.events[state.selected]);
    } else if (key.key === "?") {
      $("keys-dialog").showModal();
    }
  });
}

applyTheme(localStorage.getItem("loghaul.theme") || "system");
readUrl();
showControls();
wire();
showRehydrations().catch(() => {});
if (window.uPlot) runSearch(false);
else window.addEventListener("load", () => runSearch(false));
// For the browser tests and for poking at the page from the console.
window.loghaul = { state, chart: () => chart };
