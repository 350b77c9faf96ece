// format.js: how times, durations, statuses and command lines are shown
// and read. No DOM here.

// Statuses as the API has them, in lifecycle order.
export const STATUSES = ["created", "pending", "running", "stopping", "canceled", "failed", "succeeded", "ended_unexpectedly"];

// FINAL are the statuses no execution leaves.
export const FINAL = new Set(["canceled", "failed", "succeeded", "ended_unexpectedly"]);

export function statusLabel(status) {
  return (status || "").replaceAll("_", " ");
}

// duration shows milliseconds as "840 ms", "4.2 s", "3 min 20 s", "2 h 5 min".
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m - h * 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

// bytes shows a byte count as "512 B", "1.5 KiB", "256.0 MiB".
export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

// count shows a row count with thousands separated: "1,234,567".
export function count(n) {
  return typeof n === "number" ? n.toLocaleString("en-US") : "–";
}

// cell shows one value of a tapped row: null as "NULL", texts as they are,
// the rest as JSON.
export function cell(v) {
  if (v === null || v === undefined) return "NULL";
  return typeof v === "string" ? v : JSON.stringify(v);
}

// between is the duration from a to b (ISO times or Dates), or null.
export function between(a, b) {
  if (!a || !b) return null;
  return new Date(b) - new Date(a);
}

// ago shows how long ago a time was: "just now", "12 s ago", "5 min ago",
// "3 h ago", "1 d ago", "2 d 4 h ago", "12 d ago". It never rounds up
// past a day: 23 h 40 min is "23 h ago", not a "24 h" older than a day.
export function ago(t, now = Date.now()) {
  if (!t) return "never";
  const s = Math.max(0, (now - new Date(t)) / 1000);
  if (s < 2) return "just now";
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 24 * 3600) return `${Math.floor(s / 3600)} h ago`;
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  if (d < 7 && h > 0) return `${d} d ${h} h ago`;
  return `${d} d ago`;
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

// clock shows a time of day ("14:03:27"), with the date when it is not today.
export function clock(t, { millis = false } = {}) {
  if (!t) return "–";
  const d = new Date(t);
  let s = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (millis) s += `.${pad(d.getMilliseconds(), 3)}`;
  const today = new Date();
  if (d.toDateString() !== today.toDateString()) {
    s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${s}`;
  }
  return s;
}

// full is a time as a tooltip shows it: local date and time, and UTC.
export function full(t) {
  if (!t) return "";
  const d = new Date(t);
  return `${d.toLocaleString()} (${d.toISOString()})`;
}

// shortID is the end of an execution id: ids are UUIDv7, whose first
// characters are a timestamp that executions of the same day share.
export function shortID(id) {
  return id ? `…${id.slice(-8)}` : "";
}

// ref shows an execution's or a package's folder/project/package.
export function ref(x) {
  return [x.folder, x.project, x.package].filter(Boolean).join("/");
}

// splitCommand splits a command line into its words as a POSIX shell does
// for quoting: spaces separate words, '...' keeps everything as it is,
// "..." keeps everything but \" \\ \$ \` escapes, and \ outside quotes
// escapes the next character. It throws on an unclosed quote.
export function splitCommand(line) {
  const words = [];
  let word = "";
  let inWord = false;
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = "";
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = "";
      else if (c === "\\" && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) word += line[++i];
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`the command has an unclosed ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

// ---------------------------------------------------------------- packages

// clip shortens text to n characters, on one line.
function clip(s, n = 120) {
  const one = String(s).replace(/\s+/g, " ").trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

// text shows a setting's value: strings as they are, the rest as JSON.
function text(v) {
  return typeof v === "string" ? v : JSON.stringify(v);
}

// describeTask says in one line what a task of a package definition does,
// from its type and settings (with): the sql task's connection, statement
// or file and result; bulk_insert's file, table and connection; the s3 task's operation, connection, objects and
// where they go; an exec task's command. Settings hold no passwords
// (connections do, and describeConnection leaves them out).
export function describeTask(t) {
  const w = t.with || {};
  const parts = [];
  const add = (label, v) => {
    if (v !== undefined && v !== null && v !== "") parts.push(label ? `${label} ${clip(text(v), 80)}` : clip(text(v), 80));
  };
  switch (t.type) {
    case "sql": {
      add("on", w.connection);
      if (w.file !== undefined) add("file", w.file);
      else if (Array.isArray(w.statements)) parts.push(`${w.statements.length} statement${w.statements.length === 1 ? "" : "s"}: ${clip(text(w.statements[0]?.statement ?? w.statements[0]), 80)}`);
      else add("", w.statement);
      if (w.result && w.result !== "none") add("→", w.result);
      if (w.transaction === true) parts.push("in a transaction");
      break;
    }
    case "s3": {
      add("", w.op);
      add("on", w.connection);
      add("key", w.key);
      add("prefix", w.prefix);
      add("glob", w.glob);
      add("newer than", w.newer_than);
      add("from", w.from);
      add("to", w.to);
      add("to key", w.to_key);
      add("to prefix", w.to_prefix);
      add("to connection", w.to_connection);
      add("limit", w.limit);
      break;
    }
    case "bulk_insert":
      add("", w.file);
      add("into", w.schema ? `${text(w.schema)}.${text(w.table)}` : w.table);
      add("on", w.connection);
      if (Array.isArray(w.columns)) add("columns", w.columns.map(text).join(", "));
      break;
    case "exec":
      add("", Array.isArray(w.command) ? w.command.map(text).join(" ") : w.command);
      break;
    case "http":
      add("", `${w.method || "GET"} ${w.url || ""}`);
      break;
    case "sleep":
      add("", w.duration);
      break;
    case "fail":
      add("", w.message);
      break;
    case "set":
      add("", Object.keys(w.values || {}).join(", "));
      break;
    case "sequence":
      if (t.transaction?.connection) add("transaction on", t.transaction.connection);
      break;
    case "foreach":
      add("over", t.items);
      if (t.parallel) parts.push("in parallel");
      break;
    default:
      add("", Object.keys(w).join(", "));
  }
  return parts.join(" · ");
}

// definitionTasks flattens a package definition's tasks, containers' tasks
// after them: [{name, depth, type, what, disabled}].
export function definitionTasks(def, depth = 0) {
  const out = [];
  for (const t of (def && def.tasks) || []) {
    out.push({ name: t.name, depth, type: t.type, what: describeTask(t), disabled: t.disabled === true });
    out.push(...definitionTasks(t, depth + 1));
  }
  return out;
}

// describeConnection says where a connection goes: a database's user,
// host, port and database, with its options; an s3 connection's bucket,
// region and endpoint. Never its password: only whether it has one.
export function describeConnection(c) {
  if (!c) return "";
  if (c.kind === "s3") {
    const parts = [`bucket ${text(c.bucket ?? "")}`];
    if (c.region) parts.push(`region ${text(c.region)}`);
    if (c.endpoint) parts.push(`endpoint ${text(c.endpoint)}`);
    if (c.path_style === true || c.path_style === "true") parts.push("path style");
    return parts.join(" · ");
  }
  let where = text(c.host ?? "");
  if (c.port !== undefined && c.port !== "") where += `:${text(c.port)}`;
  if (c.database) where += `/${text(c.database)}`;
  if (c.user) where = `${text(c.user)}@${where}`;
  const parts = [where];
  const opts = Object.entries(c.options || {});
  if (opts.length) parts.push(opts.map(([k, v]) => `${k}=${text(v)}`).join(" "));
  if (c.password) parts.push("password from a sensitive parameter");
  return parts.join(" · ");
}
