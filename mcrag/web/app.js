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

// A refusal in words: FastAPI's validation errors are a list of {loc, msg}; show "field: message".
function plainError(body, res) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => {
      const where = (d.loc || []).filter((p) => p !== "body" && p !== "query" && p !== "path").join(".");
      return (where ? where + ": " : "") + (d.msg || "invalid value").replace(/^Value error, /, "");
    }).join("; ");
  }
  if (typeof body === "string" && body.trim()) return body.trim().slice(0, 300);
  return `${res.status} ${res.statusText || "request failed"}`;
}

async function api(path, options = {}) {
  const res = await fetch(path, options);
  const type = res.headers.get("content-type") || "";
  const body = type.includes("json") ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) throw new Error(plainError(body, res));
  return body;
}

// Show that something is on its way: a region is marked busy and says "loading…" until filled.
function loading(el, what) {
  el.setAttribute("aria-busy", "true");
  el.replaceChildren(text(el.tagName === "OL" || el.tagName === "UL" ? "li" : "p", `loading ${what}…`, "loading"));
}
function loaded(el) { el.removeAttribute("aria-busy"); }

// Prefixed names for IRIs, from the server's own prefix table.
let prefixes = {};
const prefixesReady = fetch("/api/prefixes").then((r) => (r.ok ? r.json() : {})).then((p) => { prefixes = p; }).catch(() => {});
function compact(iri) {
  let best = null;
  for (const [p, ns] of Object.entries(prefixes)) {
    if (iri.startsWith(ns) && iri.length > ns.length && /^[A-Za-z0-9_.\-/]+$/.test(iri.slice(ns.length)) &&
        (!best || ns.length > best[1].length)) best = [p, ns];
  }
  return best ? `${best[0]}:${iri.slice(best[1].length)}` : iri;
}

// An N-Triples term of the audit trail as a person reads it: prefixed IRI or the literal's value.
function termText(term) {
  if (term === null || term === undefined) return "(none)";
  const iri = term.match(/^<(.*)>$/);
  if (iri) return compact(iri[1]).replace(/^mcrag:/, "");
  const lit = term.match(/^"((?:[^"\\]|\\.)*)"/);
  return lit ? lit[1].replace(/\\(.)/g, "$1") : term;
}

function historyLine(h) {
  const li = document.createElement("li");
  const undone = h.undone_by ? " (undone)" : "";
  li.append(text("strong", `${h.action}${undone}`), ` by ${h.curator} · ${h.time.replace("T", " ").slice(0, 19)}`);
  if (h.previous_status !== h.new_status) li.append(` · status ${h.previous_status ?? "–"} → ${h.new_status ?? "–"}`);
  const changes = (h.changes || []).filter((c) => c.field !== "status" && c.field !== "version");
  if (changes.length) {
    const ul = document.createElement("ul");
    ul.className = "changes";
    for (const c of changes) ul.append(text("li", `${c.field}: ${termText(c.old)} → ${termText(c.new)}`));
    li.append(ul);
  } else if (h.action === "edit") {
    li.append(" · no field changed");
  }
  if (h.reason) li.append(text("q", h.reason));
  return li;
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
  const list = $("queue");
  loading(list, "the review queue");
  let items;
  try {
    items = await api("/api/curation/queue?limit=100" + (status ? "&status=" + encodeURIComponent(status) : ""), { headers: headers() });
  } catch (e) { loaded(list); list.replaceChildren(text("li", e.message, "error")); return; }
  loaded(list);
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
  const panel = $("claim-panel");
  panel.setAttribute("aria-busy", "true");
  $("claim-title").textContent = "loading claim…";
  loading($("claim-graph"), "the picture");
  let c;
  try {
    c = await api("/api/claims/" + encodeURIComponent(id), { headers: headers() });
  } catch (e) {
    panel.removeAttribute("aria-busy");
    $("claim-title").textContent = "could not load the claim";
    $("claim-graph").replaceChildren(text("p", e.message, "error"));
    return;
  }
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
  for (const h of c.history) hist.append(historyLine(h));
  panel.dataset.claim = c.claim_id;
  const graph = $("claim-graph");
  try {
    graph.innerHTML = await api("/api/claims/" + encodeURIComponent(id) + "/neighbourhood.svg", { headers: headers() });
  } catch (e) { graph.replaceChildren(text("p", e.message, "error")); }
  loaded(graph);
  panel.removeAttribute("aria-busy");
}

// The picture is a map: an arrow opens its claim, a concept lists the claims that name it.
function pictureClick(event) {
  const edge = event.target.closest("svg .edge");
  if (edge) { showClaim(edge.dataset.claim); return; }
  const node = event.target.closest("svg .node");
  if (node) claimsAbout(node.dataset.iri);
}

function claimsAbout(iri) {
  $("sparql").value = `SELECT ?claim ?label ?status WHERE {\n  ?claim a mcrag:CausalClaim ; rdfs:label ?label ; mcrag:status ?status .\n` +
    `  { ?claim rdf:subject <${iri}> } UNION { ?claim rdf:object <${iri}> }\n} ORDER BY ?label LIMIT 100`;
  runSparql().then(() => $("sparql-panel").scrollIntoView({ behavior: "smooth", block: "start" }));
}

function showMessage(el, message, cls) {
  el.textContent = message;
  el.className = cls;
  el.scrollIntoView({ block: "nearest" });
}

async function curate(action) {
  const msg = $("curate-msg");
  if (!current) { showMessage(msg, "select a claim first", "error"); return; }
  const body = { curator: $("curator").value, reason: $("reason").value, expected_version: current.version };
  if (action === "edit") {
    if ($("edit-relation").value) body.relation = $("edit-relation").value;
    if ($("edit-certainty").value) body.certainty = $("edit-certainty").value;
  }
  try {
    const r = await api(`/api/curation/claims/${encodeURIComponent(current.claim_id)}/${action}`,
      { method: "POST", headers: headers(true), body: JSON.stringify(body) });
    $("reason").value = "";
    await showClaim(current.claim_id);
    await loadQueue();
    showMessage(msg, `${action}: ${r.previous_status} → ${r.new_status} (version ${r.version})`, "ok");
  } catch (e) { showMessage(msg, e.message, "error"); }
}

async function runSparql() {
  const msg = $("sparql-msg");
  msg.textContent = "running…"; msg.className = "";
  try {
    const res = await fetch("/sparql", { method: "POST", headers: { ...headers(), "Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json" }, body: $("sparql").value });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error(plainError(body, res));
    await prefixesReady;
    const out = $("sparql-result");
    out.replaceChildren();
    if ("boolean" in body) { out.append(text("p", String(body.boolean))); msg.textContent = ""; return; }
    const table = document.createElement("table");
    const head = document.createElement("tr");
    for (const v of body.head.vars) head.append(text("th", v));
    table.append(head);
    for (const b of body.results.bindings) {
      const tr = document.createElement("tr");
      for (const v of body.head.vars) {
        const term = b[v];
        const td = text("td", !term ? "" : term.type === "uri" ? compact(term.value) : term.value);
        if (term && term.type === "uri") {
          td.title = term.value;
          const m = term.value.match(/\/claim\/([0-9a-f]{8,64})$/);
          if (m) { td.classList.add("link"); td.addEventListener("click", () => showClaim(m[1])); }
        }
        tr.append(td);
      }
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
$("claim-graph").addEventListener("click", pictureClick);
$("claim-graph").addEventListener("keydown", (e) => { if (e.key === "Enter") pictureClick(e); });
loadQueue();
