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
