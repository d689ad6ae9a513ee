"use strict";
// MCRAG curation UI: review queue, claim detail with its causal neighbourhood, curation acts, SPARQL.
const $ = (id) => document.getElementById(id);
let current = null;

for (const key of ["curator", "token"]) {
  $(key).value = localStorage.getItem("mcrag." + key) || "";
  $(key).addEventListener("change", () => localStorage.setItem("mcrag." + key, $(key).value));
}

function headers(json) {
  const h = {};
  if (json) h["Content-Type"] = "application/json";
  if ($("token").value) h["Authorization"] = "Bearer " + $("token").value;
  return h;
}

async function api(path, options = {}) {
  const res = await fetch(path, options);
  const type = res.headers.get("content-type") || "";
  const body = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new Error((body && body.detail) ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : res.statusText);
  return body;
}

function text(tag, value, cls) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (cls) el.className = cls;
  return el;
}

function badge(status) { return text("span", status, "badge " + status); }

async function loadQueue() {
  const status = $("status-filter").value;
  const items = await api("/api/curation/queue?limit=100" + (status ? "&status=" + encodeURIComponent(status) : ""), { headers: headers() });
  const list = $("queue");
  list.replaceChildren();
  for (const item of items) {
    const li = document.createElement("li");
    li.dataset.claim = item.claim_id;
    li.append(badge(item.status), " ", item.label);
    if (item.reason) li.title = item.reason;
    li.addEventListener("click", () => showClaim(item.claim_id));
    if (current && current.claim_id === item.claim_id) li.classList.add("selected");
    list.append(li);
  }
  if (!items.length) list.append(text("li", "nothing to review"));
}

async function showClaim(id) {
  const c = await api("/api/claims/" + encodeURIComponent(id), { headers: headers() });
  current = c;
  document.querySelectorAll("#queue li").forEach((li) => li.classList.toggle("selected", li.dataset.claim === id));
  $("claim-title").textContent = c.label;
  const meta = $("claim-meta");
  meta.replaceChildren(badge(c.status), ` version ${c.version} · ${c.relation} · polarity ${c.polarity} · certainty ${c.certainty} · confidence ${c.confidence}`);
  meta.dataset.status = c.status;
  const sources = $("claim-sources");
  sources.replaceChildren();
  for (const s of c.sources) {
    const li = document.createElement("li");
    li.append(text("q", s.sentence));
    li.append(text("small", ` — ${s.identifier || s.document || ""}${s.collection ? " (" + s.collection + ")" : ""}${s.citation ? " · " + s.citation : ""}`));
    sources.append(li);
  }
  const val = $("claim-validation");
  val.replaceChildren();
  if (!c.validations.length) val.append(text("p", "not validated yet"));
  for (const v of c.validations) {
    val.append(text("p", `${v.verdict || ""}: effect ${v.effect ?? "–"} [${v.ci_low ?? "–"}, ${v.ci_high ?? "–"}], n=${v.sample_size ?? "–"}, ${v.estimand || ""} ${v.reason ? "· " + v.reason : ""}`));
  }
  const hist = $("claim-history");
  hist.replaceChildren();
  for (const h of c.history) hist.append(text("li", `${h.time} ${h.curator}: ${h.action} (${h.previous_status} → ${h.new_status}) — ${h.reason}`));
  $("claim-panel").dataset.claim = c.claim_id;
  $("claim-graph").innerHTML = await api("/api/claims/" + encodeURIComponent(id) + "/neighbourhood.svg", { headers: headers() });
}

async function curate(action) {
  const msg = $("curate-msg");
  if (!current) { msg.textContent = "select a claim first"; msg.className = "error"; return; }
  const body = { curator: $("curator").value, reason: $("reason").value, expected_version: current.version };
  if (action === "edit") {
    if ($("edit-relation").value) body.relation = $("edit-relation").value;
    if ($("edit-certainty").value) body.certainty = $("edit-certainty").value;
  }
  try {
    const r = await api(`/api/curation/claims/${encodeURIComponent(current.claim_id)}/${action}`,
      { method: "POST", headers: headers(true), body: JSON.stringify(body) });
    msg.textContent = `${action}: ${r.previous_status} → ${r.new_status} (version ${r.version})`;
    msg.className = "ok";
    $("reason").value = "";
    await showClaim(current.claim_id);
    await loadQueue();
  } catch (e) { msg.textContent = e.message; msg.className = "error"; }
}

async function runSparql() {
  const msg = $("sparql-msg");
  msg.textContent = "running…"; msg.className = "";
  try {
    const res = await fetch("/sparql", { method: "POST", headers: { ...headers(), "Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json" }, body: $("sparql").value });
    const body = await res.json();
    if (!res.ok) throw new Error(body.detail || res.statusText);
    const out = $("sparql-result");
    out.replaceChildren();
    if ("boolean" in body) { out.append(text("p", String(body.boolean))); msg.textContent = ""; return; }
    const table = document.createElement("table");
    const head = document.createElement("tr");
    for (const v of body.head.vars) head.append(text("th", v));
    table.append(head);
    for (const b of body.results.bindings) {
      const tr = document.createElement("tr");
      for (const v of body.head.vars) tr.append(text("td", b[v] ? b[v].value : ""));
      table.append(tr);
    }
    out.append(table);
    msg.textContent = `${body.results.bindings.length} row(s)`;
  } catch (e) { msg.textContent = e.message; msg.className = "error"; }
}

document.querySelectorAll("[data-action]").forEach((b) => b.addEventListener("click", () => curate(b.dataset.action)));
$("refresh").addEventListener("click", loadQueue);
$("status-filter").addEventListener("change", loadQueue);
$("run-sparql").addEventListener("click", runSparql);
loadQueue().catch((e) => { $("queue").replaceChildren(text("li", e.message, "error")); });
