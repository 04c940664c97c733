// The local page: a chat box on /v1/chat/completions, and what the model learned.
// Plain DOM, no build step. Text from the server is only ever set as textContent.
"use strict";

const $ = (id) => document.getElementById(id);
let token = localStorage.getItem("personal-token") || "";
let history = [];
let aborter = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

async function api(path, options = {}) {
  const headers = { "Content-Type": "application/json", ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) {
    token = prompt("This server needs its token:") || "";
    localStorage.setItem("personal-token", token);
    if (token) return api(path, options);
  }
  return response;
}

async function json(path, options) {
  const response = await api(path, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
  return body;
}

// --- chat -----------------------------------------------------------------------------
function addMessage(role, text, who) {
  const node = el("div", { class: `msg ${role}`, "data-role": role }, text);
  if (who) node.append(el("span", { class: "who" }, ` (${who})`));
  $("messages").append(node);
  $("messages").scrollTop = $("messages").scrollHeight;
  return node;
}

async function send(event) {
  event.preventDefault();
  const text = $("prompt").value.trim();
  if (!text || aborter) return;
  $("prompt").value = "";
  history.push({ role: "user", content: text });
  addMessage("user", text);
  const answer = addMessage("assistant", "");
  const body = { model: $("model").value || "personal", messages: history, stream: true };
  aborter = new AbortController();
  $("stop").disabled = false;
  $("send").disabled = true;
  let content = "", model = "";
  try {
    const response = await api("/v1/chat/completions", {
      method: "POST", body: JSON.stringify(body), signal: aborter.signal,
    });
    if (!response.ok) throw new Error((await response.json()).error.message);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const blocks = buffer.split("\n\n");
      buffer = blocks.pop();
      for (const block of blocks) {
        const data = block.replace(/^data: /, "");
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        model = chunk.model || model;
        const delta = chunk.choices.length ? chunk.choices[0].delta.content : "";
        if (delta) { content += delta; answer.firstChild ? answer.firstChild.nodeValue = content : answer.append(content); }
      }
    }
    history.push({ role: "assistant", content });
    answer.dataset.done = "true";
    answer.append(el("span", { class: "who" }, ` (${model})`));
  } catch (error) {
    if (error.name === "AbortError") {
      history.push({ role: "assistant", content });  // the partial answer stays, as logged
      answer.append(el("span", { class: "who" }, " (stopped)"));
    } else {
      history.pop();
      answer.remove();
      addMessage("error", `error: ${error.message}`);
    }
  } finally {
    aborter = null;
    $("stop").disabled = true;
    $("send").disabled = false;
    refresh();
  }
}

// --- what the model learned -----------------------------------------------------------
async function loadStatus() {
  const h = await json("/health");
  $("status").textContent = `${h.model} · revision ${h.revision ? h.revision.slice(0, 12) : "none"}` +
    ` · ${h.queue.waiting} waiting` + (h.logging ? "" : " · not logging");
}

async function loadModels() {
  const { data } = await json("/v1/models");
  $("model").replaceChildren(...data.map((m) => el("option", { value: m.id }, m.id)));
}

async function loadPreferences() {
  const { preferences } = await json("/api/preferences");
  const act = (id, what) => async () => {
    try { await json(`/api/preferences/${id}/${what}`, { method: "POST" }); }
    catch (error) { alert(error.message); }
    loadPreferences();
  };
  const items = preferences.map((p) => p.confirmed
    ? el("li", { "data-id": p.id }, p.text, el("span", { class: "tag" }, p.kind),
        p.active ? null : el("span", { class: "tag" }, "off"),
        " ", el("button", { onclick: act(p.id, "reject"), title: "Delete" }, "✕"))
    : el("li", { class: "candidate", "data-id": p.id }, el("span", { class: "tag" }, "candidate"), " ",
        p.text, " ",
        el("button", { onclick: act(p.id, "confirm") }, "Confirm"),
        el("button", { onclick: act(p.id, "reject") }, "Reject")));
  $("preferences").replaceChildren(...(items.length ? items : [el("li", {}, "none stated yet")]));
}

async function loadDaemon() {
  const d = await json("/api/daemon");
  const last = d.last || {};
  const rows = [
    ["schedule", d.schedule], ["next run", d.next_run || "—"],
    ["last run", last.finished_at ? `${last.finished_at}: ${last.outcome}` : "never"],
    ["why", (last.reasons || []).join("; ") || "—"],
    ["now", d.running ? `training (${d.running.stage || "starting"})` : "idle"],
  ];
  $("daemon").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
}

function lossCurve(loss) {
  const ns = "http://www.w3.org/2000/svg";
  const all = [...loss.train, ...loss.val];
  if (!all.length) return null;
  const [xs, ys] = [all.map((p) => p[0]), all.map((p) => p[1])];
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const at = ([x, y]) => `${(100 * (x - x0)) / (x1 - x0 || 1)},${38 - (36 * (y - y0)) / (y1 - y0 || 1)}`;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 100 40");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "loss");
  svg.setAttribute("data-testid", "loss-curve");
  for (const [points, color] of [[loss.train, "#48c"], [loss.val, "#d72"]]) {
    if (!points.length) continue;
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map(at).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", color);
    line.setAttribute("stroke-width", "0.8");
    line.setAttribute("vector-effect", "non-scaling-stroke");
    svg.append(line);
  }
  const title = document.createElementNS(ns, "title");
  title.textContent = `loss ${y1.toFixed(3)} → ${loss.train.length ? loss.train.at(-1)[1].toFixed(3) : "?"} (train blue, validation orange)`;
  svg.append(title);
  return svg;
}

function metricsTable(metrics) {
  const labels = Object.keys(metrics);
  if (!labels.length) return null;
  const fmt = (v) => (v === null || v === undefined ? "—" : typeof v === "number" ? v.toFixed(3) : v);
  const mean = (o) => { const v = Object.values(o || {}); return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null; };
  return el("table", {},
    el("tr", {}, ["", "CE", "retention CE", "adherence", "tool rate"].map((h) => el("th", {}, h))),
    labels.map((l) => el("tr", {}, el("td", {}, l), el("td", {}, fmt(metrics[l].ce)),
      el("td", {}, fmt(metrics[l].retention_ce)), el("td", {}, fmt(mean(metrics[l].adherence))),
      el("td", {}, fmt(metrics[l].tool_rate)))));
}

function learned(rev) {
  const counts = Object.entries(rev.dataset.counts || {}).map(([kind, splits]) =>
    `${Object.values(splits).reduce((a, b) => a + b, 0)} ${kind}`);
  const adherence = Object.entries((rev.metrics.candidate || {}).adherence || {});
  return [
    el("p", {}, rev.imported ? "imported revision" :
      `from ${rev.dataset.messages} messages${counts.length ? ": " + counts.join(", ") : ""}`),
    adherence.length ? el("ul", {}, adherence.map(([pref, share]) =>
      el("li", {}, `${pref} — followed in ${Math.round(share * 100)}% of answers`))) : null,
    rev.reasons.length ? el("ul", { class: "note" }, rev.reasons.map((r) => el("li", {}, r))) : null,
  ];
}

async function loadRevisions() {
  const data = await json("/api/revisions");
  const cards = data.revisions.map((rev) => el("details", { class: "revision", "data-id": rev.id },
    el("summary", {}, el("code", {}, rev.short), ` ${rev.created_at.slice(0, 16).replace("T", " ")}`,
      rev.id === data.serving ? el("span", { class: "tag now" }, "serving") : null,
      rev.current ? el("span", { class: "tag now" }, "current") : null,
      el("span", { class: `tag ${rev.promoted ? "good" : "bad"}` }, rev.promoted ? "promoted" : "not promoted")),
    learned(rev), metricsTable(rev.metrics),
    rev.training.steps ? el("p", {}, `${rev.training.steps} steps, final loss ${rev.training.final_train_loss?.toFixed(3) ?? "—"}` +
      ` (validation ${rev.training.final_val_loss?.toFixed(3) ?? "—"})`) : null,
    rev.loss ? lossCurve(rev.loss) : null));
  $("revisions").replaceChildren(...(cards.length ? cards : [el("p", {}, "No revisions yet: the model has not been trained.")]));
}

async function refresh() {
  await Promise.allSettled([loadStatus(), loadPreferences(), loadDaemon(), loadRevisions()]);
}

$("chat-form").addEventListener("submit", send);
$("prompt").addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) send(e); });
$("stop").addEventListener("click", () => aborter && aborter.abort());
$("new-chat").addEventListener("click", () => { history = []; $("messages").replaceChildren(); });
loadModels().catch(() => {});
refresh().then(() => document.body.setAttribute("data-ready", "true"));
