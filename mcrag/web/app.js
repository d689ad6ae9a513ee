"use strict";
// MCRAG curation workbench: review queue, search with facets, the edge view with bulk acts, the claim
// with its causal neighbourhood, edits, comments, history and version comparison, releases, SPARQL.
const $ = (id) => document.getElementById(id);
let current = null;      // the claim shown
let currentEdge = null;  // the edge shown
let lastBulk = null;     // the last bulk act made here (for its undo)
let searchCursor = null;

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

const post = (path, body) => api(path, { method: "POST", headers: headers(true), body: JSON.stringify(body) });
const get = (path) => api(path, { headers: headers() });

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

function text(tag, value, cls) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (cls) el.className = cls;
  return el;
}

function badge(status) { return text("span", status, "badge " + status); }
const shortId = (iri) => iri.slice(iri.lastIndexOf("/") + 1);

function showMessage(el, message, cls) {
  el.textContent = message;
  el.className = cls;
  el.scrollIntoView({ block: "nearest" });
}

// A field change as the server words it: the field, its old and new value (old_text / new_text).
function changeLine(c) { return `${c.field}: ${c.old_text} → ${c.new_text}`; }

// One entry of an audit trail: who did what, when, each field that changed (old → new), and why.
function historyLine(h) {
  const li = document.createElement("li");
  const undone = h.undone_by ? " (undone)" : "";
  const bulk = h.part_of ? " (bulk)" : "";
  li.append(text("strong", `${h.action}${undone}${bulk}`), ` by ${h.curator} · ${h.time.replace("T", " ").slice(0, 19)}`);
  if (h.previous_status && h.previous_status !== h.new_status) li.append(` · status ${h.previous_status} → ${h.new_status ?? "–"}`);
  if (h.to_version) li.append(` · version ${h.from_version} → ${h.to_version}`);
  const changes = (h.changes || []).filter((c) => c.field !== "status" && c.field !== "version");
  if (changes.length) {
    const ul = document.createElement("ul");
    ul.className = "changes";
    for (const c of changes) ul.append(text("li", changeLine(c)));
    li.append(ul);
  } else if (h.action === "edit") {
    li.append(" · no field changed");
  }
  if (h.reason && h.action !== "comment") li.append(text("q", h.reason));
  return li;
}

function commentLine(c) {
  const li = document.createElement("li");
  li.dataset.comment = c.comment_id;
  li.append(text("strong", c.author), ` · ${c.time.replace("T", " ").slice(0, 19)} `, text("span", c.text, "comment-text"));
  return li;
}

// ------------------------------------------------------------------------------------------ tabs
function showTab(id) {
  for (const tab of document.querySelectorAll("nav.tabs [role=tab]")) {
    const on = tab.dataset.tab === id;
    tab.setAttribute("aria-selected", String(on));
    $(tab.dataset.tab).hidden = !on;
  }
  if (id === "release-panel") loadReleases();
  if (id === "concept-panel" && $("map-concept").value.trim()) loadMappings();
}
document.querySelectorAll("nav.tabs [role=tab]").forEach((t) => t.addEventListener("click", () => showTab(t.dataset.tab)));

// ------------------------------------------------------------------------------------------ queue
async function loadQueue() {
  const status = $("status-filter").value;
  const list = $("queue");
  loading(list, "the review queue");
  let items;
  try {
    items = await get("/api/curation/queue?limit=100" + (status ? "&status=" + encodeURIComponent(status) : ""));
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

// ------------------------------------------------------------------------------------------ search
const FILTERS = { text: "search-text", concept: "search-concept", relation: "search-relation", status: "search-status",
  scope: "search-scope", source: "search-source", verdict: "search-verdict", min_confidence: "search-min-conf",
  max_confidence: "search-max-conf", changed_since: "search-since" };

function searchQuery() {
  const q = new URLSearchParams();
  for (const [name, id] of Object.entries(FILTERS)) if ($(id).value.trim()) q.append(name, $(id).value.trim());
  if ($("search-concept").value.trim()) q.append("role", $("search-role").value);
  const mode = $("search-mode").value;
  let sort = $("search-sort").value;
  if (mode === "edges" && !["priority", "claims", "label"].includes(sort)) sort = "priority";
  if (mode === "claims" && sort === "claims") sort = "priority";
  q.append("sort", sort);
  q.append("limit", "50");
  return q;
}

// A facet value is a filter a click away: the counts say how many claims ticking it would keep.
const FACET_FIELDS = { status: "search-status", relation: "search-relation", scope: "search-scope",
  graph: "search-source", collection: "search-source", verdict: "search-verdict" };

function renderFacets(facets) {
  const box = $("facets");
  box.replaceChildren();
  for (const [name, counts] of Object.entries(facets || {})) {
    const div = document.createElement("div");
    div.className = "facet";
    div.dataset.facet = name;
    div.append(text("span", name + ":", "facet-name"));
    for (const [value, n] of Object.entries(counts).sort((a, b) => b[1] - a[1])) {
      const b = text("button", `${value} ${n}`, "facet-value");
      b.type = "button";
      b.dataset.value = value;
      b.addEventListener("click", () => { $(FACET_FIELDS[name]).value = value; search(); });
      div.append(b);
    }
    box.append(div);
  }
}

async function search(more = false) {
  const mode = $("search-mode").value;
  const list = $("results");
  const msg = $("search-msg");
  const q = searchQuery();
  if (more && searchCursor) q.append("cursor", searchCursor);
  if (!more) loading(list, "results");
  msg.textContent = ""; msg.className = "";
  let page;
  try {
    page = await get(`/api/curation/${mode === "edges" ? "edges" : "search"}?${q}`);
  } catch (e) { loaded(list); if (!more) list.replaceChildren(); showMessage(msg, e.message, "error"); return; }
  loaded(list);
  if (!more) list.replaceChildren();
  for (const item of page.items) {
    const li = document.createElement("li");
    if (mode === "edges") {
      li.dataset.edge = item.edge_id;
      li.append(badge(item.status), " ", item.label, text("small", ` · ${item.claims} claim(s)` +
        (item.matching !== item.claims ? `, ${item.matching} matching` : "") + (item.verdict ? ` · ${item.verdict}` : "")));
      li.addEventListener("click", () => showEdge(item.edge_id));
    } else {
      li.dataset.claim = item.claim_id;
      li.append(badge(item.status), " ", item.label, text("small", ` · ${item.source}`));
      li.title = item.sentence;
      li.addEventListener("click", () => showClaim(item.claim_id));
    }
    list.append(li);
  }
  renderFacets(page.facets);
  searchCursor = page.next_cursor;
  $("more-btn").hidden = !searchCursor;
  const shown = list.querySelectorAll("li[data-edge], li[data-claim]").length;
  msg.textContent = `${shown} of ${page.total} ${mode}` + (page.concepts.length ? ` · concept: ${page.concepts.map(compact).join(", ")}` : "");
  if (!page.total) list.append(text("li", "nothing matches"));
}

$("search-form").addEventListener("submit", (e) => { e.preventDefault(); searchCursor = null; search(); });
$("more-btn").addEventListener("click", () => search(true));
$("search-clear").addEventListener("click", () => { for (const id of Object.values(FILTERS)) $(id).value = ""; search(); });

// ------------------------------------------------------------------------------------------ the edge view
async function showEdge(edgeId) {
  const panel = $("edge-panel");
  panel.hidden = false;
  panel.setAttribute("aria-busy", "true");
  $("edge-title").textContent = "loading edge…";
  let e;
  try { e = await get(`/api/curation/edges/${encodeURIComponent(edgeId)}?limit=500`); } catch (err) {
    panel.removeAttribute("aria-busy"); $("edge-title").textContent = "could not load the edge";
    showMessage($("bulk-msg"), err.message, "error"); return;
  }
  currentEdge = e;
  panel.dataset.edge = e.edge_id;
  document.querySelectorAll("#results li[data-edge]").forEach((li) => li.classList.toggle("selected", li.dataset.edge === e.edge_id));
  $("edge-title").textContent = e.label;
  $("edge-meta").replaceChildren(badge(e.status), ` ${e.claims} claim(s): ` +
    Object.entries(e.statuses).map(([k, v]) => `${k} ${v}`).join(", ") + ` · ${e.documents} document(s)` +
    (e.negative ? ` · ${e.negative} negated` : ""));
  const val = $("edge-validation");
  val.replaceChildren();
  if (!e.validations.length) val.append(text("p", "not validated by any source yet"));
  else {
    const table = document.createElement("table");
    table.append(row("th", ["source", "verdict", "effect [CI]", "uncertainty", "claims", "reason"]));
    for (const v of e.validations) {
      const ci = v.effect === null ? "–" : `${v.effect.toFixed(3)} [${v.ci_low?.toFixed(3) ?? "–"}, ${v.ci_high?.toFixed(3) ?? "–"}]`;
      const tr = row("td", [v.source, v.verdict || "–", ci, v.uncertainty?.toFixed(2) ?? "–", v.claims, v.reason || ""]);
      tr.dataset.source = v.source;
      table.append(tr);
    }
    val.append(table);
  }
  const body = $("edge-members").querySelector("tbody");
  body.replaceChildren();
  for (const m of e.members) {
    const tr = document.createElement("tr");
    tr.dataset.claim = m.claim_id;
    const box = document.createElement("input");
    box.type = "checkbox"; box.className = "member"; box.dataset.claim = m.claim_id; box.dataset.version = m.version;
    box.setAttribute("aria-label", "select claim " + m.claim_id);
    const td = document.createElement("td"); td.append(box); tr.append(td);
    const open = text("td", m.claim_id.slice(0, 10) + "…", "link");
    open.title = m.claim_id;
    open.addEventListener("click", () => showClaim(m.claim_id));
    tr.append(open, cell(badge(m.status)), text("td", m.version), text("td", m.confidence?.toFixed(2) ?? ""),
      text("td", m.extractor || ""), text("td", m.source), text("td", m.sentence));
    if (m.polarity === "negative") tr.classList.add("negated");
    body.append(tr);
  }
  $("select-all").checked = false;
  const comments = $("edge-comments");
  comments.replaceChildren();
  for (const c of e.comments) comments.append(commentLine(c));
  if (!e.comments.length) comments.append(text("li", "no comments yet", "hint"));
  panel.removeAttribute("aria-busy");
}

function row(tag, values) {
  const tr = document.createElement("tr");
  for (const v of values) tr.append(text(tag, v === null || v === undefined ? "" : String(v)));
  return tr;
}
function cell(child) { const td = document.createElement("td"); td.append(child); return td; }

$("select-all").addEventListener("change", () => {
  document.querySelectorAll("#edge-members input.member").forEach((b) => { b.checked = $("select-all").checked; });
});
$("bulk-action").addEventListener("change", () => {
  $("bulk-relation").hidden = $("bulk-action").value !== "relabel";
  $("bulk-scope").hidden = $("bulk-action").value !== "rescope";
});

async function bulkAct() {
  const msg = $("bulk-msg");
  const chosen = [...document.querySelectorAll("#edge-members input.member:checked")];
  if (!chosen.length) { showMessage(msg, "select the claims to act on", "error"); return; }
  const action = $("bulk-action").value;
  const body = { action, curator: $("curator").value, reason: $("bulk-reason").value,
    claims: chosen.map((b) => ({ claim_id: b.dataset.claim, expected_version: Number(b.dataset.version) })) };
  if (action === "relabel") body.relation = $("bulk-relation").value;
  if (action === "rescope") body.scope = $("bulk-scope").value;
  try {
    const r = await post("/api/curation/bulk", body);
    lastBulk = r;
    $("bulk-reason").value = "";
    await showEdge(currentEdge.edge_id);
    showMessage(msg, `${r.action} of ${r.count} claim(s) recorded as one act (${shortId(r.activity)})`, "ok");
    $("bulk-undo-btn").hidden = false;
    loadQueue();
  } catch (e) { showMessage(msg, e.message, "error"); }
}

async function undoBulk() {
  const msg = $("bulk-msg");
  if (!lastBulk) return;
  try {
    const reason = $("bulk-reason").value || "undo of " + lastBulk.action;
    const r = await post(`/api/curation/bulk/${encodeURIComponent(shortId(lastBulk.activity))}/undo`,
      { curator: $("curator").value, reason });
    lastBulk = null;
    $("bulk-undo-btn").hidden = true;
    if (currentEdge) await showEdge(currentEdge.edge_id);
    showMessage(msg, `${r.action}: ${r.count} claim(s) put back`, "ok");
    loadQueue();
  } catch (e) { showMessage(msg, e.message, "error"); }
}

$("bulk-btn").addEventListener("click", bulkAct);
$("bulk-undo-btn").addEventListener("click", undoBulk);
$("edge-comment-btn").addEventListener("click", async () => {
  if (!currentEdge) return;
  try {
    await post(`/api/curation/edges/${currentEdge.edge_id}/comments`, { curator: $("curator").value, text: $("edge-comment-text").value });
    $("edge-comment-text").value = "";
    await showEdge(currentEdge.edge_id);
  } catch (e) { showMessage($("bulk-msg"), e.message, "error"); }
});

// ------------------------------------------------------------------------------------------ one claim
async function showClaim(id) {
  const panel = $("claim-panel");
  panel.setAttribute("aria-busy", "true");
  $("claim-title").textContent = "loading claim…";
  loading($("claim-graph"), "the picture");
  let c;
  try {
    c = await get("/api/claims/" + encodeURIComponent(id));
  } catch (e) {
    panel.removeAttribute("aria-busy");
    $("claim-title").textContent = "could not load the claim";
    $("claim-graph").replaceChildren(text("p", e.message, "error"));
    return;
  }
  current = c;
  document.querySelectorAll("#queue li, #results li[data-claim]").forEach((li) => li.classList.toggle("selected", li.dataset.claim === id));
  $("claim-title").textContent = c.label;
  const meta = $("claim-meta");
  meta.replaceChildren(badge(c.status), ` version ${c.version} · ${c.relation} · polarity ${c.polarity} · certainty ${c.certainty} · confidence ${c.confidence}` +
    (c.scope ? ` · scope ${c.scope}` : ""));
  meta.dataset.status = c.status;
  meta.dataset.version = c.version;
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
  const comments = $("claim-comments");
  comments.replaceChildren();
  for (const x of c.comments || []) comments.append(commentLine(x));
  for (const id2 of ["compare-a", "compare-b"]) {
    const sel = $(id2);
    sel.replaceChildren();
    for (let v = 1; v <= c.version; v++) sel.append(new Option(String(v), String(v)));
  }
  $("compare-a").value = String(Math.max(1, c.version - 1));
  $("compare-b").value = String(c.version);
  $("compare-result").replaceChildren();
  panel.dataset.claim = c.claim_id;
  const graph = $("claim-graph");
  try {
    graph.innerHTML = await get("/api/claims/" + encodeURIComponent(id) + "/neighbourhood.svg");
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

async function curate(action) {
  const msg = $("curate-msg");
  if (!current) { showMessage(msg, "select a claim first", "error"); return; }
  const body = { curator: $("curator").value, reason: $("reason").value, expected_version: current.version };
  if (action === "edit") {
    for (const [field, id] of [["relation", "edit-relation"], ["certainty", "edit-certainty"], ["scope", "edit-scope"],
      ["subject", "edit-subject"], ["object", "edit-object"]]) if ($(id).value.trim()) body[field] = $(id).value.trim();
    if ($("edit-swap").checked) body.swap = true;
  }
  try {
    const r = await post(`/api/curation/claims/${encodeURIComponent(current.claim_id)}/${action}`, body);
    $("reason").value = "";
    for (const id of ["edit-relation", "edit-certainty", "edit-scope", "edit-subject", "edit-object"]) $(id).value = "";
    $("edit-swap").checked = false;
    await showClaim(current.claim_id);
    await loadQueue();
    const fields = (r.changes || []).filter((c) => c.field !== "status").map(changeLine);
    showMessage(msg, `${action}: ${r.previous_status} → ${r.new_status} (version ${r.version})` +
      (fields.length ? "; " + fields.join("; ") : ""), "ok");
  } catch (e) { showMessage(msg, e.message, "error"); }
}

async function commentOnClaim() {
  if (!current) return;
  try {
    await post(`/api/curation/claims/${current.claim_id}/comments`, { curator: $("curator").value, text: $("comment-text").value });
    $("comment-text").value = "";
    await showClaim(current.claim_id);
  } catch (e) { showMessage($("curate-msg"), e.message, "error"); }
}

async function compareVersions() {
  if (!current) return;
  const out = $("compare-result");
  try {
    const r = await get(`/api/claims/${current.claim_id}/compare?a=${$("compare-a").value}&b=${$("compare-b").value}`);
    out.replaceChildren();
    for (const c of r.changes) out.append(text("li", changeLine(c)));
    if (!r.changes.length) out.append(text("li", `versions ${r.a} and ${r.b} say the same`));
  } catch (e) { out.replaceChildren(text("li", e.message, "error")); }
}

async function openItsEdge() {
  if (!current) return;
  await showEdge(current.edge_id);
  $("edge-panel").scrollIntoView({ block: "start" });
}

$("comment-btn").addEventListener("click", commentOnClaim);
$("compare-btn").addEventListener("click", compareVersions);
$("open-edge-btn").addEventListener("click", openItsEdge);

// ------------------------------------------------------------------------------------------ releases
async function loadReleases() {
  const list = $("releases");
  loading(list, "releases");
  let found;
  try { found = await get("/api/curation/releases"); } catch (e) { loaded(list); list.replaceChildren(text("li", e.message, "error")); return; }
  loaded(list);
  list.replaceChildren();
  for (const r of found) {
    const li = document.createElement("li");
    li.dataset.release = r.name;
    li.append(text("strong", r.name), ` · ${r.issued.replace("T", " ").slice(0, 19)} · ${r.edges} edges, ${r.claims} claims` +
      (r.previous_name ? ` · from ${r.previous_name}` : "") + (r.note ? ` · ${r.note}` : "") + " · ");
    for (const fmt of ["turtle", "jsonld", "graphml"]) {
      const a = text("a", fmt);
      a.href = `/api/curation/releases/${encodeURIComponent(r.name)}/export?format=${fmt}`;
      li.append(a, " ");
    }
    list.append(li);
  }
  if (!found.length) list.append(text("li", "no release yet", "hint"));
  for (const id of ["diff-a", "diff-b"]) {
    const sel = $(id);
    const keep = sel.value;
    sel.replaceChildren(...found.map((r) => new Option(r.name, r.name)));
    if (keep) sel.value = keep;
  }
  if (found.length >= 2) { $("diff-a").value = found[found.length - 2].name; $("diff-b").value = found[found.length - 1].name; }
}

async function cutRelease() {
  const msg = $("release-msg");
  try {
    const r = await post("/api/curation/releases", { name: $("release-name").value.trim(), curator: $("curator").value, note: $("release-note").value });
    showMessage(msg, `release ${r.name}: ${r.edges} edges, ${r.claims} claims, ${r.triples} triples (${compact(r.iri)})`, "ok");
    $("release-name").value = ""; $("release-note").value = "";
    await loadReleases();
  } catch (e) { showMessage(msg, e.message, "error"); }
}

async function diffReleases() {
  const out = $("diff-result");
  loading(out, "the difference");
  try {
    const d = await get(`/api/curation/releases/${encodeURIComponent($("diff-a").value)}/diff/${encodeURIComponent($("diff-b").value)}`);
    loaded(out);
    out.replaceChildren(text("p", `${d.a} → ${d.b}: ${d.counts.added} added, ${d.counts.removed} removed, ${d.counts.changed} changed, ${d.counts.unchanged} unchanged`, "diff-summary"));
    const ul = document.createElement("ul");
    for (const e of d.added) ul.append(text("li", `+ ${e.label} (${e.status}, ${e.claims} claims)`, "added"));
    for (const e of d.removed) ul.append(text("li", `− ${e.label} (${e.status}, ${e.claims} claims)`, "removed"));
    for (const c of d.changed) {
      const parts = c.fields.map((f) => f === "supported_by" ? `claims cited ${c.changes[f].old.length} → ${c.changes[f].new.length}`
        : `${f} ${c.changes[f].old ?? "–"} → ${c.changes[f].new ?? "–"}`);
      ul.append(text("li", `~ ${c.label}: ${parts.join("; ")}`, "changed"));
    }
    out.append(ul);
  } catch (e) { loaded(out); out.replaceChildren(text("p", e.message, "error")); }
}

$("release-btn").addEventListener("click", cutRelease);
$("diff-btn").addEventListener("click", diffReleases);

// ------------------------------------------------------------------------------------------ concept mappings
async function loadMappings() {
  const out = $("map-current");
  const concept = $("map-concept").value.trim();
  if (!concept) { out.replaceChildren(text("p", "name a concept first", "hint")); return; }
  loading(out, "mappings");
  try {
    const m = await get(`/api/curation/mappings?concept=${encodeURIComponent(concept)}`);
    await prefixesReady;
    loaded(out);
    out.replaceChildren(text("p", compact(m.concept), "mapping-concept"));
    const ul = document.createElement("ul");
    for (const kind of ["exact", "close", "broad"]) {
      for (const t of m[kind] || []) {
        const li = text("li", `${kind}Match ${compact(t)}`, "mapping");
        li.dataset.kind = kind;
        li.title = t;
        ul.append(li);
      }
    }
    if (!ul.children.length) ul.append(text("li", "no mapping", "hint"));
    out.append(ul);
  } catch (e) { loaded(out); out.replaceChildren(text("p", e.message, "error")); }
}

async function mapConcept(remove) {
  const msg = $("map-msg");
  try {
    const r = await post("/api/curation/mappings", { concept: $("map-concept").value.trim(), kind: $("map-kind").value,
      target: $("map-target").value.trim(), curator: $("curator").value, reason: $("map-reason").value, remove });
    showMessage(msg, `${remove ? "withdrew" : "added"} ${$("map-kind").value}Match ${$("map-target").value.trim()} (${compact(r.activity)})`, "ok");
    await loadMappings();
  } catch (e) { showMessage(msg, e.message, "error"); }
}

async function undoMapping() {
  const msg = $("map-msg");
  try {
    const r = await post("/api/curation/mappings/undo", { concept: $("map-concept").value.trim(), curator: $("curator").value,
      reason: $("map-reason").value });
    showMessage(msg, `undone (${compact(r.activity)})`, "ok");
    await loadMappings();
  } catch (e) { showMessage(msg, e.message, "error"); }
}

$("map-show").addEventListener("click", loadMappings);
$("map-concept").addEventListener("keydown", (e) => { if (e.key === "Enter") loadMappings(); });
$("map-add").addEventListener("click", () => mapConcept(false));
$("map-remove").addEventListener("click", () => mapConcept(true));
$("map-undo").addEventListener("click", undoMapping);

// ------------------------------------------------------------------------------------------ SPARQL
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
          const e = term.value.match(/\/edge\/([0-9a-f]{8,64})$/);
          if (e) { td.classList.add("link"); td.addEventListener("click", () => showEdge(e[1])); }
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
