// app.js: the Scaleout console. Two views, chosen by the location's hash:
//   #/                  the dashboard's figures, workers, a run form, executions
//   #/executions/{id}   one execution: stages, tasks, attempts, messages
// Every figure comes from the authenticated API (api.js) and is refreshed
// every POLL_MS while the tab is visible. Data is put in the page as text
// only (textContent), never as HTML.

import * as api from "./api.js";
import { FINAL, STATUSES, ago, between, bytes, cell, clock, count, definitionTasks, describeConnection, duration, full, ref, shortID, splitCommand, statusLabel } from "./format.js";

const POLL_MS = 2000;
const PAGE = 50; // executions per "Show more"
const MAX_MESSAGES = 10000; // messages shown for one execution

const $ = (id) => document.getElementById(id);

// el builds an element: attrs are attributes, except "class", "text"
// (its textContent) and "on<event>" (listeners); children are nodes or text.
function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") n.className = v;
    else if (k === "text") n.textContent = v;
    else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v === true ? "" : String(v));
  }
  n.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return n;
}

function statusBadge(status, extra = {}) {
  return el("span", { class: `status ${status}`, "data-status": status, text: statusLabel(status), ...extra });
}

// syncRows makes tbody's rows match items, keeping the row of each key, so
// that a refresh keeps buttons, focus and hover where they are.
function syncRows(tbody, items, { key, build, update, empty, columns }) {
  const old = new Map([...tbody.children].filter((r) => r.dataset.key).map((r) => [r.dataset.key, r]));
  const rows = items.map((item) => {
    const k = key(item);
    let row = old.get(k);
    if (!row) {
      row = build(item);
      row.dataset.key = k;
    }
    update(row, item);
    return row;
  });
  if (rows.length === 0) {
    tbody.replaceChildren(el("tr", {}, el("td", { class: "empty", colspan: columns, text: empty })));
    return;
  }
  const same = rows.length === tbody.children.length && rows.every((r, i) => tbody.children[i] === r);
  if (!same) tbody.replaceChildren(...rows);
}

function toast(message, { bad = false } = {}) {
  const t = el("div", { class: bad ? "toast bad" : "toast", text: message });
  $("toasts").append(t);
  setTimeout(() => t.remove(), bad ? 8000 : 4000);
}

// ---------------------------------------------------------------- views

const views = { signin: $("signin-view"), overview: $("overview-view"), execution: $("execution-view") };

function show(name) {
  for (const [k, v] of Object.entries(views)) v.hidden = k !== name;
  const signedIn = name !== "signin";
  $("signout").hidden = !signedIn;
  $("live").hidden = !signedIn;
}

// ---------------------------------------------------------------- sign in

function showSignin(message) {
  stopPolling();
  show("signin");
  document.title = "Scaleout · Sign in";
  $("signin-error").hidden = !message;
  $("signin-error").textContent = message || "";
  $("token").value = "";
  $("token").focus();
}

api.onUnauthorized(() => {
  api.token.clear();
  showSignin("The API did not accept the token (401 Unauthorized). Sign in again.");
});

$("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const t = $("token").value.trim();
  if (!t) return;
  api.token.set(t);
  $("signin-submit").disabled = true;
  try {
    await api.get("workers"); // any reader call: it checks the token
    route();
  } catch (err) {
    if (err.status !== 401) {
      $("signin-error").hidden = false;
      $("signin-error").textContent = `Could not reach the API: ${err.message}`;
    }
  } finally {
    $("signin-submit").disabled = false;
  }
});

$("signout").addEventListener("click", () => {
  api.token.clear();
  showSignin("");
});

// ---------------------------------------------------------------- polling

let timer = 0;
let current = null; // the refresh function of the view shown

function stopPolling() {
  clearTimeout(timer);
  timer = 0;
  current = null;
}

// poll runs the current view's refresh now, then every POLL_MS after the
// previous one ended (so that slow answers never pile up).
async function poll(refresh) {
  clearTimeout(timer);
  current = refresh;
  if (!document.hidden) {
    try {
      await refresh();
      setLive(true);
    } catch (err) {
      if (err.status === 401) return;
      setLive(false, err.message);
    }
  }
  if (current === refresh) timer = setTimeout(() => poll(refresh), POLL_MS);
}

function setLive(ok, why) {
  $("live").classList.toggle("stale", !ok);
  $("live-text").textContent = ok ? `live · ${clock(new Date())}` : "reconnecting…";
  $("live").title = ok ? `Refreshed every ${POLL_MS / 1000} s` : why || "";
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && current) poll(current);
});

// ---------------------------------------------------------------- router

function route() {
  if (!api.token.get()) {
    showSignin("");
    return;
  }
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const m = path.match(/^\/executions\/([0-9a-fA-F-]{36})$/);
  if (m) {
    openExecution(m[1]);
    return;
  }
  openOverview(new URLSearchParams(query || ""));
}

window.addEventListener("hashchange", route);

// ---------------------------------------------------------------- overview

const filterFields = ["status", "folder", "project", "package", "since"];
let execLimit = PAGE;
let overviewReady = false;

function openOverview(params) {
  show("overview");
  $("back").href = location.hash || "#/";
  document.title = "Scaleout · Executions";
  for (const f of filterFields) $(`filter-${f}`).value = params.get(f) || "";
  if (!overviewReady) {
    overviewReady = true;
    loadPools();
  }
  poll(refreshOverview);
}

async function refreshOverview() {
  const results = await Promise.allSettled([loadDashboard(), loadWorkers(), loadExecutions()]);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

// Dashboard --------------------------------------------------------------

async function loadDashboard() {
  const d = await api.get("dashboard", { hours: 24 });
  const c = d.counts || {};
  $("fig-succeeded").textContent = c.succeeded || 0;
  $("fig-failed").textContent = d.failures || 0;
  $("fig-other").textContent = (c.canceled || 0) + (c.ended_unexpectedly || 0);
  $("fig-running").textContent = d.running || 0;
  $("fig-pending").textContent = `${d.pending || 0} pending`;

  // p50 and p95 over every package, for the last hour in which runs ended
  // (the API merges the hour's sketches; a whole day's are per package).
  const hours = d.hourly || [];
  const last = [...hours].reverse().find((h) => h.durations && h.durations.count > 0);
  if (last) {
    const end = new Date(new Date(last.hour).getTime() + 3600e3);
    $("fig-durations").textContent = `${duration(last.durations.p50_ms)} · ${duration(last.durations.p95_ms)}`;
    $("fig-durations-hint").textContent = `${last.durations.count} ended ${clock(last.hour).slice(-8, -3)}–${clock(end).slice(-8, -3)}`;
  } else {
    $("fig-durations").textContent = "–";
    $("fig-durations-hint").textContent = "nothing ended in 24 h";
  }
  renderHourly(hours);
  renderPackages(d.packages || []);
}

function renderHourly(hours) {
  const totals = hours.map((h) => Object.values(h.counts || {}).reduce((a, b) => a + b, 0));
  const top = Math.max(1, ...totals);
  const bars = hours.map((h, i) => {
    const c = h.counts || {};
    const other = totals[i] - (c.succeeded || 0) - (c.failed || 0);
    const bar = el("div", { class: "bar" });
    for (const [cls, n] of [["ok", c.succeeded || 0], ["bad", c.failed || 0], ["other", other]]) {
      if (n <= 0) continue;
      const seg = el("div", { class: `seg ${cls}` });
      seg.style.height = `${(100 * n) / top}%`;
      bar.append(seg);
    }
    const p95 = h.durations && h.durations.count ? `; p95 ${duration(h.durations.p95_ms)}` : "";
    bar.title = `${clock(h.hour)}: ${c.succeeded || 0} succeeded, ${c.failed || 0} failed, ${other} other${p95}`;
    return bar;
  });
  $("hourly").replaceChildren(...bars);
  $("hourly-from").textContent = hours.length ? ago(hours[0].hour) : "";
}

function renderPackages(pkgs) {
  const total = (p) => Object.values(p.counts || {}).reduce((a, b) => a + b, 0);
  const sorted = [...pkgs].sort((a, b) => total(b) - total(a) || ref(a).localeCompare(ref(b)));
  syncRows($("packages-body"), sorted, {
    key: ref,
    columns: 8,
    empty: "No execution ended in the last 24 hours.",
    build: (p) =>
      el("tr", { "data-testid": "package-row" },
        el("td", {}, el("a", { class: "ref", href: packageLink(p), text: p.package }), el("span", { class: "sub", text: `${p.folder}/${p.project}` })),
        ...Array.from({ length: 6 }, () => el("td", { class: "num" })),
        el("td", { class: "wrap" })),
    update: (row, p) => {
      const c = p.counts || {};
      const d = p.durations || {};
      const cells = row.cells;
      cells[1].textContent = c.succeeded || 0;
      cells[2].textContent = c.failed || 0;
      cells[3].textContent = total(p) - (c.succeeded || 0) - (c.failed || 0);
      cells[4].textContent = d.count ? duration(d.p50_ms) : "–";
      cells[5].textContent = d.count ? duration(d.p95_ms) : "–";
      cells[6].textContent = d.count ? duration(d.max_ms) : "–";
      const lf = p.last_failure;
      cells[7].replaceChildren(lf
        ? el("a", { href: `#/executions/${lf.execution_id}`, title: full(lf.at), text: `${ago(lf.at)}${lf.error ? ": " + lf.error : ""}` })
        : "");
    },
  });
}

function packageLink(p) {
  const q = new URLSearchParams({ folder: p.folder, project: p.project, package: p.package });
  return `#/?${q}`;
}

// Workers ----------------------------------------------------------------

async function loadWorkers() {
  const { workers } = await api.get("workers");
  const now = Date.now();
  // Online first, then by id.
  workers.sort((a, b) => Number(b.online) - Number(a.online) || a.id.localeCompare(b.id));
  const online = workers.filter((w) => w.online);
  const slots = online.filter((w) => w.enabled).reduce((n, w) => n + w.max_tasks, 0);
  const busy = online.filter((w) => w.enabled).reduce((n, w) => n + w.running, 0);
  $("workers-summary").textContent = workers.length
    ? `${online.length} of ${workers.length} online · ${busy} of ${slots} slots busy`
    : "";
  syncRows($("workers-body"), workers, {
    key: (w) => w.id,
    columns: 7,
    empty: "No worker has registered yet. Start one: scaleout dev runs one, or cmd/scaleout-worker.",
    build: (w) =>
      el("tr", { "data-testid": "worker-row", "data-worker-id": w.id },
        el("td", {}, el("span", { class: "ref mono" }), el("span", { class: "sub" })),
        el("td"),
        el("td", {}, statusBadge(""), " ", el("span", { "data-testid": "worker-enabled" })),
        el("td", { class: "nowrap", "data-testid": "worker-running" }),
        el("td", { class: "nowrap" }),
        el("td", { class: "mono" }),
        el("td", { class: "num" },
          el("button", { type: "button", class: "button small", "data-testid": "worker-toggle", onclick: () => toggleWorker(w.id) }))),
    update: (row, w) => {
      row.dataset.enabled = String(w.enabled);
      row.dataset.online = String(w.online);
      const cells = row.cells;
      cells[0].children[0].textContent = w.display_name || w.id;
      cells[0].children[0].title = w.id;
      cells[0].children[1].textContent = [w.display_name && w.display_name !== w.id ? w.id : "", w.machine].filter(Boolean).join(" · ");
      cells[1].textContent = (w.pools || []).join(", ");
      const st = cells[2].children[0];
      st.className = `status ${w.online ? "online" : "offline"}`;
      st.textContent = w.online ? "online" : "offline";
      const en = cells[2].children[1];
      en.className = `status ${w.enabled ? "enabled" : "disabled"}`;
      en.textContent = w.enabled ? "enabled" : "disabled";
      const meter = el("span", { class: "meter" }, el("span"));
      meter.firstChild.style.width = `${Math.min(100, (100 * w.running) / Math.max(1, w.max_tasks))}%`;
      cells[3].replaceChildren(meter, `${w.running} / ${w.max_tasks}`);
      cells[4].textContent = ago(w.last_heartbeat, now);
      cells[4].title = full(w.last_heartbeat);
      cells[5].textContent = w.version || "";
      const b = cells[6].firstChild;
      if (!b.dataset.pending) {
        b.textContent = w.enabled ? "Disable" : "Enable";
        b.classList.toggle("danger", w.enabled);
        b.title = w.enabled ? "Take no new work on this worker (running executions finish)" : "Let this worker take work again";
      }
      b.dataset.enabled = String(w.enabled);
    },
  });
}

async function toggleWorker(id) {
  const row = document.querySelector(`tr[data-worker-id="${CSS.escape(id)}"]`);
  const b = row && row.querySelector("[data-testid=worker-toggle]");
  const enable = row && row.dataset.enabled !== "true";
  if (b) {
    b.disabled = true;
    b.dataset.pending = "1";
    b.textContent = enable ? "Enabling…" : "Disabling…";
  }
  try {
    await api.post(`workers/${encodeURIComponent(id)}/${enable ? "enable" : "disable"}`);
    toast(`Worker ${id} ${enable ? "enabled" : "disabled"}.`);
  } catch (err) {
    if (err.status !== 401) toast(`Could not ${enable ? "enable" : "disable"} worker ${id}: ${err.message}`, { bad: true });
  } finally {
    if (b) {
      b.disabled = false;
      delete b.dataset.pending;
    }
  }
  await loadWorkers().catch(() => {});
}

// Executions -------------------------------------------------------------

function filterQuery() {
  const q = {};
  for (const f of filterFields) {
    const v = $(`filter-${f}`).value.trim();
    if (v) q[f] = v;
  }
  return q;
}

async function loadExecutions() {
  const q = filterQuery();
  if (q.since) q.since = new Date(Date.now() - Number(q.since) * 3600e3).toISOString().replace(/\.\d+Z$/, "Z");
  let page;
  try {
    page = await api.get("executions", { ...q, limit: execLimit });
  } catch (err) {
    if (err.status === 400) {
      // A filter the API refuses (an invalid name): say so, keep polling.
      $("executions-error").hidden = false;
      $("executions-error").textContent = err.message;
      $("executions-body").replaceChildren();
      return;
    }
    throw err;
  }
  $("executions-error").hidden = true;
  const list = page.executions || [];
  const now = Date.now();
  syncRows($("executions-body"), list, {
    key: (e) => e.id,
    columns: 8,
    empty: Object.keys(q).length ? "No execution matches the filters." : "No execution yet. Start one with the Run form.",
    build: (e) => {
      const row = el("tr", { "data-testid": "execution-row", "data-execution-id": e.id, title: "Open this execution" },
        el("td"), el("td"), el("td"), el("td", { class: "num" }), el("td", { class: "mono" }), el("td"), el("td", { class: "num" }),
        el("td", {}, el("a", { class: "mono", href: `#/executions/${e.id}`, text: shortID(e.id), "data-testid": "execution-link" })));
      row.addEventListener("click", (ev) => {
        if (ev.target.closest("a")) return;
        location.hash = `#/executions/${e.id}`;
      });
      return row;
    },
    update: (row, e) => {
      row.dataset.status = e.status;
      const cells = row.cells;
      cells[0].replaceChildren(statusBadge(e.status, { "data-testid": "execution-status" }));
      cells[1].replaceChildren(el("span", { class: "ref", text: e.package }), el("span", { class: "sub", text: `${e.folder}/${e.project}` }));
      cells[2].textContent = e.pool;
      cells[3].textContent = e.attempt ? `${e.attempt}${maxAttempts(e) > 1 ? ` / ${maxAttempts(e)}` : ""}` : "–";
      cells[4].textContent = e.worker_id || "";
      cells[5].textContent = ago(e.created_at, now);
      cells[5].title = full(e.created_at);
      const ms = e.started_at ? between(e.started_at, e.ended_at || new Date(now)) : null;
      cells[6].textContent = ms === null ? "–" : duration(ms);
    },
  });
  const more = Boolean(page.next) && execLimit < 1000;
  $("executions-more").hidden = !more;
  $("executions-count").textContent = list.length ? `${list.length}${page.next ? "+" : ""} shown, newest first` : "";
}

let filterDelay = 0;

function filtersChanged() {
  clearTimeout(filterDelay);
  filterDelay = setTimeout(() => {
    execLimit = PAGE;
    const q = new URLSearchParams(filterQuery()).toString();
    // The filters live in the address, so a view can be bookmarked; no
    // hashchange is fired by replaceState.
    history.replaceState(null, "", q ? `#/?${q}` : "#/");
    $("back").href = q ? `#/?${q}` : "#/";
    loadExecutions().catch(() => {});
  }, 250);
}

for (const s of STATUSES) $("filter-status").append(el("option", { value: s, text: statusLabel(s) }));
$("filters").addEventListener("input", filtersChanged);
$("filters").addEventListener("change", filtersChanged);
$("filters").addEventListener("reset", () => setTimeout(filtersChanged));
$("filters").addEventListener("submit", (ev) => ev.preventDefault());
$("executions-more").addEventListener("click", () => {
  execLimit = Math.min(1000, execLimit + PAGE);
  loadExecutions().catch(() => {});
});

// Run form ---------------------------------------------------------------

let runMode = "command";

function setRunMode(mode) {
  runMode = mode;
  for (const tab of document.querySelectorAll(".run-card .tab")) {
    tab.setAttribute("aria-selected", String(tab.dataset.mode === mode));
  }
  for (const n of document.querySelectorAll("#run-form [data-only]")) n.hidden = n.dataset.only !== mode;
  if (mode === "catalog") loadFolders();
}

for (const tab of document.querySelectorAll(".run-card .tab")) {
  tab.addEventListener("click", () => setRunMode(tab.dataset.mode));
}

function fillList(id, values) {
  $(id).replaceChildren(...values.map((v) => el("option", { value: v })));
}

async function loadPools() {
  try {
    const { pools } = await api.get("pools");
    const sel = $("run-pool");
    sel.replaceChildren(...pools.map((p) => el("option", { value: p.pool, text: p.pool })));
    if (pools.some((p) => p.pool === "default")) sel.value = "default";
  } catch {
    // The select keeps "default"; the API checks the pool anyway.
  }
}

async function loadFolders() {
  try {
    const { folders } = await api.get("folders", { limit: 1000 });
    fillList("folders-list", folders.map((f) => f.name));
  } catch {
    fillList("folders-list", []);
  }
}

async function loadProjects() {
  const folder = $("run-folder").value.trim();
  if (runMode !== "catalog" || !folder) return;
  try {
    const { projects } = await api.get(`folders/${encodeURIComponent(folder)}/projects`);
    fillList("projects-list", projects.map((p) => p.name));
  } catch {
    fillList("projects-list", []);
  }
}

async function loadPackages() {
  const folder = $("run-folder").value.trim() || "default";
  const project = $("run-project").value.trim();
  if (runMode !== "catalog" || !project) return;
  try {
    const p = await api.get(`folders/${encodeURIComponent(folder)}/projects/${encodeURIComponent(project)}`);
    fillList("packages-list", (p.packages || []).map((x) => x.name));
    fillList("environments-list", (p.references || []).map((r) => r.environment));
  } catch {
    fillList("packages-list", []);
    fillList("environments-list", []);
  }
}

$("run-folder").addEventListener("change", loadProjects);
$("run-project").addEventListener("change", loadPackages);

// runRequest reads the form into a POST /v1/executions body.
function runRequest() {
  const v = (id) => $(id).value.trim();
  const body = {};
  if (v("run-folder")) body.folder = v("run-folder");
  if (v("run-package")) body.package = v("run-package");
  if (v("run-pool")) body.pool = v("run-pool");
  if (runMode === "command") {
    const command = splitCommand(v("run-command"));
    if (command.length === 0) throw new Error("Give the command to run, such as: sh -c \"echo hello\"");
    body.command = command;
  } else {
    if (!v("run-project") || !v("run-package")) throw new Error("Give the deployed project and package to run.");
    body.project = v("run-project");
    if (v("run-environment")) body.environment = { environment: v("run-environment") };
  }
  if (v("run-parameters")) {
    let params;
    try {
      params = JSON.parse(v("run-parameters"));
    } catch (err) {
      throw new Error(`Parameters: not JSON (${err.message})`);
    }
    if (params === null || typeof params !== "object" || Array.isArray(params)) throw new Error("Parameters: give a JSON object, such as {\"date\": \"2026-11-25\"}");
    body.parameters = params;
  }
  const retries = Number(v("run-retries") || 0);
  if (retries) body.retries = retries;
  if (v("run-timeout")) body.timeout = v("run-timeout");
  return body;
}

$("run-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const result = $("run-result");
  result.className = "run-result";
  result.removeAttribute("data-execution-id");
  let body;
  try {
    body = runRequest();
  } catch (err) {
    result.classList.add("bad");
    result.textContent = err.message;
    return;
  }
  $("run-submit").disabled = true;
  result.textContent = "Starting…";
  try {
    const e = await api.post("executions", body);
    result.dataset.executionId = e.id;
    result.replaceChildren("Started ", el("a", { href: `#/executions/${e.id}`, class: "mono", text: shortID(e.id), "data-testid": "run-link" }),
      ` (${ref(e)}, ${statusLabel(e.status)})`);
    loadExecutions().catch(() => {});
  } catch (err) {
    if (err.status === 401) return;
    result.classList.add("bad");
    result.textContent = err instanceof api.ApiError ? err.describe() : err.message;
  } finally {
    $("run-submit").disabled = false;
  }
});

// ---------------------------------------------------------------- one execution

let detail = null; // {id, messages: [], cursor, done, lastStatus}

function openExecution(id) {
  if (!detail || detail.id !== id) {
    detail = { id, count: 0, cursor: "", done: false, final: false };
    $("messages").replaceChildren(el("div", { class: "empty", text: "Loading messages…" }));
    $("exec-title").textContent = "";
    $("exec-status").replaceChildren();
    $("exec-facts").replaceChildren();
    $("exec-stages").replaceChildren();
    $("exec-tasks").replaceChildren();
    $("exec-dataflows").replaceChildren();
    $("exec-dataflow").hidden = true;
    $("exec-attempts").replaceChildren();
    $("exec-params").replaceChildren();
    $("exec-error").hidden = true;
    resetStop();
  }
  show("execution");
  window.scrollTo(0, 0);
  poll(refreshExecution);
}

async function refreshExecution() {
  const d = detail;
  let e;
  try {
    e = await api.get(`executions/${d.id}`);
  } catch (err) {
    if (err.status === 404) {
      $("exec-title").textContent = `Execution ${d.id}`;
      $("exec-error").hidden = false;
      $("exec-error").textContent = err.message;
      return;
    }
    throw err;
  }
  if (detail !== d) return;
  renderExecution(e);
  // Read the messages that exist; once the execution has ended, one more
  // read after that is the last.
  const wasFinal = d.final;
  d.final = FINAL.has(e.status);
  if (!d.done) await loadMessages(d);
  if (wasFinal && d.final) d.done = true;
  $("messages-state").textContent = `${d.count} message${d.count === 1 ? "" : "s"}${d.done ? "" : " · tailing"}`;
  $("messages-state").dataset.state = d.done ? "complete" : "tailing";
}

function renderExecution(e) {
  document.title = `Scaleout · ${e.package} ${statusLabel(e.status)}`;
  $("exec-status").className = `status ${e.status}`;
  $("exec-status").dataset.status = e.status;
  $("exec-status").textContent = statusLabel(e.status);
  $("exec-title").replaceChildren(el("span", { class: "ref", text: e.package }), " ", el("span", { class: "muted", text: `${e.folder}/${e.project}` }));
  $("exec-error").hidden = !e.error;
  $("exec-error").textContent = e.error || "";

  const stop = $("exec-stop");
  stop.hidden = !(e.status === "pending" || e.status === "running" || e.status === "created" || e.status === "stopping");
  if (e.status === "stopping") {
    stop.disabled = true;
    stop.textContent = "Stopping…";
  } else if (!stop.dataset.confirm) {
    stop.disabled = false;
    stop.textContent = "Stop";
  }

  const ms = e.started_at ? between(e.started_at, e.ended_at || new Date()) : null;
  const facts = [
    ["Execution", el("span", { class: "mono", text: e.id })],
    ["Pool", e.pool],
    ["Worker", e.worker_id ? el("span", { class: "mono", text: e.worker_id }) : "–"],
    ["Attempt", e.attempt ? `${e.attempt} of at most ${maxAttempts(e)} (retries ${e.retries || 0} after a package failure, ${e.lost_retries || 0} after a lost worker)` : "not started"],
    ["Created", el("span", { title: full(e.created_at), text: clock(e.created_at) })],
    ["Duration", ms === null ? "–" : `${duration(ms)}${e.ended_at ? "" : " so far"}`],
    ["Project version", e.project_version ? String(e.project_version) : "ad hoc"],
    ["Timeout", e.timeout_ms ? duration(e.timeout_ms) : "package's own"],
  ];
  if (e.not_before) facts.push(["Retry not before", clock(e.not_before)]);
  $("exec-facts").replaceChildren(...facts.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", {}, v))));

  const st = e.stages || {};
  let prev = null;
  const stages = ["accepted", "enqueued", "claimed", "started", "ended"].map((name) => {
    const t = st[name];
    const li = el("li", { class: t ? "done" : "" }, el("b", { text: name }), t ? clock(t, { millis: true }) : "–");
    if (t && prev) li.append(el("span", { class: "sub", text: ` +${duration(between(prev, t))}` }));
    if (name === "ended" && t && e.status !== "succeeded") li.classList.add("failed");
    if (t) {
      li.title = full(t);
      prev = t;
    }
    return li;
  });
  $("exec-stages").replaceChildren(...stages);

  const tasks = e.tasks || [];
  $("exec-tasks").replaceChildren(...(tasks.length
    ? tasks.map((t) => el("tr", {},
      el("td", { class: "mono", text: t.path }), el("td", {}, statusBadge(t.status)),
      el("td", { class: "num", text: t.attempts }), el("td", { class: "num", text: duration(t.duration_ms) }),
      el("td", { class: "wrap", text: t.error || "" })))
    : [el("tr", {}, el("td", { class: "empty", colspan: 5, text: FINAL.has(e.status) ? "No task ran." : "Tasks show when the package ends." }))]));

  renderDataFlows(tasks);

  const attempts = e.attempts || [];
  $("exec-attempts").replaceChildren(...(attempts.length
    ? attempts.map((a) => el("tr", {},
      el("td", { text: a.attempt }), el("td", { class: "mono", text: a.worker_id }),
      el("td", { title: full(a.started_at), text: clock(a.started_at) }), el("td", { title: full(a.ended_at), text: clock(a.ended_at) }),
      el("td", {}, statusBadge(a.outcome)), el("td", { class: "wrap", text: a.reason || "" })))
    : [el("tr", {}, el("td", { class: "empty", colspan: 6, text: "None: this is the first attempt." }))]));

  renderDefinition(e);

  const params = Object.entries(e.parameters || {});
  $("exec-params").replaceChildren(...(params.length
    ? params.map(([k, v]) => el("div", {}, el("dt", { class: "mono", text: k }), el("dd", { class: "mono", text: typeof v === "string" ? v : JSON.stringify(v) })))
    : [el("div", { class: "muted", text: "No parameters." })]));
}

// renderDataFlows shows, for each dataflow task, the rows each path
// carried (as SSIS's data statistics), the totals, and the tapped rows as
// a small table when the task asked for a tap.
function renderDataFlows(tasks) {
  const flows = tasks.filter((t) => t.data_flow);
  $("exec-dataflow").hidden = flows.length === 0;
  $("exec-dataflows").replaceChildren(...flows.map((t) => {
    const d = t.data_flow;
    const paths = d.paths || [];
    const rows = paths.map((p) => el("tr", { "data-path": p.path },
      el("td", { class: "mono", text: p.path }), el("td", { class: "num", text: count(p.rows) })));
    if (d.paths_omitted) {
      rows.push(el("tr", {}, el("td", { class: "empty", colspan: 2, text: `${d.paths_omitted} more paths: the task's last message has them all.` })));
    }
    if (!rows.length) rows.push(el("tr", {}, el("td", { class: "empty", colspan: 2, text: "No paths." })));
    const block = el("div", { class: "dataflow", "data-task": t.path },
      el("h3", {}, el("span", { class: "mono", text: t.path }), " ", statusBadge(t.status)),
      el("p", { class: "totals", text: `${count(d.rows_read)} rows read · ${count(d.rows_written)} written · ${count(d.rows_rejected)} rejected · batches held at most ${bytes(d.memory_peak_bytes)}${d.truncated ? " · some statistics left out for room" : ""}` }),
      el("table", { class: "table paths" },
        el("thead", {}, el("tr", {}, el("th", { text: "Path" }), el("th", { class: "num", text: "Rows" }))),
        el("tbody", {}, ...rows)));
    if (d.tap) block.append(tapTable(d.tap));
    return block;
  }));
}

// tapTable shows a tap's first rows under its columns.
function tapTable(tap) {
  const cols = tap.columns || [];
  const rows = tap.rows || [];
  const note = `First ${rows.length} row${rows.length === 1 ? "" : "s"} of ${tap.path}${tap.truncated ? " (cut to fit)" : ""}`;
  return el("div", { class: "tap", "data-tap": tap.path },
    el("p", { class: "sub", text: note }),
    el("div", { class: "tap-scroll" },
      el("table", { class: "table" },
        el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", { class: "mono", text: c })))),
        el("tbody", {}, ...(rows.length
          ? rows.map((r) => el("tr", {}, ...cols.map((_, i) => el("td", { class: r[i] === null ? "mono null" : "mono", text: cell(r[i]) }))))
          : [el("tr", {}, el("td", { class: "empty", colspan: Math.max(1, cols.length), text: "No rows went along the path." }))])))));
}

// renderDefinition shows what the package is: its tasks (type and what
// each does) and its connections (kind and where; never a password). The
// definition does not change, so it is drawn once per execution.
function renderDefinition(e) {
  const def = e.definition;
  const card = $("exec-package");
  if (card.dataset.for === e.id) return;
  card.dataset.for = e.id;
  card.hidden = !def;
  if (!def) return;
  const tasks = definitionTasks(def);
  $("exec-definition").replaceChildren(...(tasks.length
    ? tasks.map((t) => el("tr", { "data-task": t.name, "data-type": t.type },
      el("td", { class: `mono depth-${Math.min(t.depth, 4)}`, text: t.name }),
      el("td", {}, el("span", { class: "tag", text: t.type }), t.disabled ? el("span", { class: "sub", text: "disabled" }) : null),
      el("td", { class: "wrap", text: t.what })))
    : [el("tr", {}, el("td", { class: "empty", colspan: 3, text: "No tasks." }))]));
  const conns = Object.entries(def.connections || {}).sort(([a], [b]) => a.localeCompare(b));
  $("exec-connections-block").hidden = conns.length === 0;
  $("exec-connections").replaceChildren(...conns.map(([name, c]) => el("tr", { "data-connection": name, "data-kind": c.kind },
    el("td", { class: "mono", text: name }), el("td", {}, el("span", { class: "tag", text: c.kind })),
    el("td", { class: "wrap mono", text: describeConnection(c) }))));
}

async function loadMessages(d) {
  const log = $("messages");
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
  for (;;) {
    const page = await api.get(`executions/${d.id}/messages`, { after: d.cursor, limit: 500 });
    if (detail !== d) return;
    const msgs = page.messages || [];
    if (d.count === 0 && msgs.length > 0) log.replaceChildren();
    log.append(...msgs.slice(0, MAX_MESSAGES - d.count).map(messageLine));
    d.count += msgs.length;
    d.cursor = page.next || d.cursor;
    if (d.count >= MAX_MESSAGES) {
      log.append(el("div", { class: "empty", text: `The first ${MAX_MESSAGES} messages are shown; read the rest with GET /v1/executions/${d.id}/messages.` }));
      d.done = true;
      break;
    }
    if (msgs.length < 500) break;
  }
  if (d.count === 0) log.replaceChildren(el("div", { class: "empty", text: d.final ? "No messages." : "No messages yet." }));
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function messageLine(m) {
  let text;
  if (m.kind === "output") {
    text = m.message || "";
  } else {
    text = [m.status, m.message, m.duration_ms ? `(${duration(m.duration_ms)})` : ""].filter(Boolean).join(" · ");
  }
  const classes = ["line", m.kind, m.stream || "", m.status && m.kind.endsWith("_ended") ? `ended-${m.status}` : ""];
  return el("div", { class: classes.filter(Boolean).join(" "), "data-testid": "message", "data-kind": m.kind, title: full(m.time) },
    el("span", { class: "time", text: clock(m.time, { millis: true }).slice(-12) }),
    el("span", { class: "attempt", title: "attempt", text: `#${m.attempt}` }),
    el("span", { class: "kind", text: m.kind === "output" ? m.stream || "output" : m.kind.replaceAll("_", " ") }),
    el("span", { class: "task", title: m.task || "", text: m.task || "" }),
    el("span", { class: "text", text }));
}

// The Stop button asks once more before it stops (no blocking dialog).
function resetStop() {
  const b = $("exec-stop");
  delete b.dataset.confirm;
  b.textContent = "Stop";
  b.disabled = false;
}

$("exec-stop").addEventListener("click", async () => {
  const b = $("exec-stop");
  if (!b.dataset.confirm) {
    b.dataset.confirm = "1";
    b.textContent = "Click again to stop";
    setTimeout(() => b.dataset.confirm && resetStop(), 4000);
    return;
  }
  b.disabled = true;
  b.textContent = "Stopping…";
  try {
    const e = await api.post(`executions/${detail.id}/stop`);
    toast(`Execution ${shortID(e.id)}: ${statusLabel(e.status)}.`);
  } catch (err) {
    if (err.status !== 401) toast(`Could not stop: ${err.message}`, { bad: true });
  } finally {
    delete b.dataset.confirm;
  }
  if (current) poll(current);
});

// ---------------------------------------------------------------- start

// Behind `scaleout console` the API answers without a token (the proxy
// adds the credentials): no sign-in then.
async function start() {
  if (!api.token.get() && (await api.probe())) api.token.set(api.PROXIED);
  route();
}

start();

// maxAttempts is how many attempts an execution can get at most: the first,
// one per retry after a package failure, one per retry after a lost worker
// (released attempts come on top, but count against neither).
function maxAttempts(e) {
  return 1 + (e.retries || 0) + (e.lost_retries || 0);
}
