"""Curation: a review queue, accept / reject / edit / undo with an audit trail, and curated-graph export.

Every act is a ``mcrag:CurationActivity`` (PROV-O) in the ``curated`` graph: who (``prov:wasAssociatedWith``
a ``prov:Person``), when (``prov:endedAtTime``), why (``mcrag:reason``), what it did (``mcrag:action``,
``mcrag:previousStatus`` / ``mcrag:newStatus``, and one ``mcrag:change`` per field with the old and new
value as N-Triples text), and which claim version it read and produced (``mcrag:fromVersion`` /
``mcrag:toVersion``). That record is what makes history and undo exact.

Concurrency is optimistic: an act names the ``mcrag:version`` it read; the write is one SPARQL update
whose every operation is guarded by that version, so a stale act changes nothing and is reported.
A positive claim's materialised edge (``?s mcrag:causes ?o``) follows the claim: a rejected claim
withdraws it unless another live claim in the same graph still states it, and undo restores it.

This module imports only ``kg``: the HTTP service and the CLI call these functions directly.
"""

from __future__ import annotations

import io
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Literal

import networkx as nx
import pyoxigraph as ox

from kg.claims import RELATION_KINDS, STATUSES, slug
from kg.errors import KGError
from kg.namespaces import ID, MCRAG, NAMED_GRAPHS, PREFIXES
from kg.store.base import Store, Term
from kg.vocabulary import FINDING_CONCEPTS, finding_for_concept_iri

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_SKOS = "http://www.w3.org/2004/02/skos/core#"
_PROV = "http://www.w3.org/ns/prov#"
_XSD = "http://www.w3.org/2001/XMLSchema#"

REVIEWABLE_STATUSES: tuple[str, ...] = ("proposed", "validated", "refuted", "notTestable")
"""Statuses still waiting for a curator's decision."""
CURATED_STATUSES: tuple[str, ...] = ("accepted", "validated")
"""What the curated graph is made of by default (for export and rendering)."""
CERTAINTIES: tuple[str, ...] = ("certain", "probable", "possible")
POLARITIES: tuple[str, ...] = ("positive", "negative")
EDITABLE_FIELDS: tuple[str, ...] = ("relation", "certainty", "polarity", "confidence", "mechanism", "status")

Action = Literal["accept", "reject", "edit", "undo"]


class CurationError(KGError):
    """A curation act that cannot be carried out as asked; nothing was changed."""


class UnknownClaimError(CurationError):
    """No causal claim with that id exists."""


class StaleVersionError(CurationError):
    """The claim changed since the curator read it (its ``mcrag:version`` moved on)."""


class CurationConflictError(CurationError):
    """An undo that would overwrite a later change, or nothing left to undo."""


# ------------------------------------------------------------------------------------------ records
@dataclass(frozen=True)
class FieldChange:
    """One field of one act: its value before and after, as N-Triples terms (``None`` = absent)."""

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class CurationRecord:
    """One entry of a claim's audit trail: a curation act, or a validation run's verdict."""

    activity: str
    claim: str
    action: str
    """``accept``, ``reject``, ``edit``, ``undo`` or ``validate``."""
    agent: str
    """The curator's name (or the validating software for ``validate``)."""
    reason: str
    time: datetime
    previous_status: str | None
    new_status: str | None
    from_version: int | None = None
    to_version: int | None = None
    changes: tuple[FieldChange, ...] = ()
    undoes: str | None = None
    undone_by: str | None = None


@dataclass(frozen=True)
class Source:
    """Where a claim was read: the document, its collection, citation and the sentence."""

    document: str
    identifier: str | None
    collection: str | None
    citation: str | None
    sentence: str | None
    section: str | None = None


@dataclass(frozen=True)
class RefutationView:
    refuter: str
    passed: bool | None
    p_value: float | None
    new_effect: float | None


@dataclass(frozen=True)
class ValidationView:
    """A stored ``mcrag:ValidationResult`` as a curator reads it."""

    result: str
    activity: str | None
    time: datetime | None
    verdict: str | None
    discovery: str | None
    estimand: str | None
    estimator: str | None
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    sample_size: int | None
    dataset: str | None
    reason: str | None
    refutations: tuple[RefutationView, ...] = ()


@dataclass(frozen=True)
class ClaimDetail:
    """A claim with everything a curator needs to decide: sentences, sources, validation, history."""

    iri: str
    graph: str
    label: str
    subject: str
    subject_label: str
    relation: str
    object: str
    object_label: str
    polarity: str
    certainty: str | None
    confidence: float | None
    status: str
    version: int
    mechanism: str | None
    mediator: str | None
    sentences: tuple[str, ...]
    sources: tuple[Source, ...]
    validations: tuple[ValidationView, ...]
    """Newest first."""
    history: tuple[CurationRecord, ...] = ()

    @property
    def latest_validation(self) -> ValidationView | None:
        return self.validations[0] if self.validations else None


@dataclass(frozen=True)
class ReviewItem:
    """One entry of the review queue, with the evidence to decide it."""

    claim: str
    label: str
    subject_label: str
    relation: str
    object_label: str
    status: str
    version: int
    verdict: str | None
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    uncertainty: float
    impact: float
    priority: float
    why: str
    """What makes this item matter: the uncertainty and the impact, in words."""
    sentences: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    validation_reason: str | None = None


# ------------------------------------------------------------------------------------------ helpers
def _iri(term: Term | None) -> str | None:
    return term.value if term is not None else None


def _mcrag_local(value: str | None) -> str | None:
    if value is None:
        return None
    base = str(MCRAG)
    return value[len(base):] if value.startswith(base) else value


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _nt(term: Term) -> str:
    """A result term back in N-Triples syntax (pyoxigraph escapes it)."""
    if term.kind == "uri":
        return str(ox.NamedNode(term.value))
    if term.kind == "bnode":
        return str(ox.BlankNode(term.value))
    if term.lang:
        return str(ox.Literal(term.value, language=term.lang))
    if term.datatype:
        return str(ox.Literal(term.value, datatype=ox.NamedNode(term.datatype)))
    return str(ox.Literal(term.value))


def _nt_term(text: str) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Parse one N-Triples term (as stored in a change record)."""
    quad = next(iter(ox.parse(f"<urn:x:s> <urn:x:p> {text} .".encode(), format=ox.RdfFormat.N_TRIPLES)))
    return quad.object


_NUMERIC = {_XSD + t for t in ("decimal", "double", "float", "integer", "int", "long")}


def _same_term(a: str | None, b: str | None) -> bool:
    """Equal as RDF values: the store may write ``"0.600000"^^xsd:decimal`` back as ``"0.6"``."""
    if a is None or b is None:
        return a is b
    if a == b:
        return True
    ta, tb = _nt_term(a), _nt_term(b)
    if isinstance(ta, ox.Literal) and isinstance(tb, ox.Literal) and ta.datatype.value in _NUMERIC \
            and tb.datatype.value in _NUMERIC:
        try:
            return float(ta.value) == float(tb.value)
        except ValueError:
            return False
    return False


def _lit(value: str | int | float, dtype: str | None = None) -> str:
    if isinstance(value, bool):
        raise TypeError("booleans are not curation values")
    if isinstance(value, int):
        return str(ox.Literal(str(value), datatype=ox.NamedNode(_XSD + "integer")))
    if isinstance(value, float):
        return str(ox.Literal(f"{value:.6f}", datatype=ox.NamedNode(_XSD + "decimal")))
    return str(ox.Literal(value, datatype=ox.NamedNode(dtype)) if dtype else ox.Literal(value))


def _uri(iri: str) -> str:
    return str(ox.NamedNode(iri))


def resolve_claim_iri(text: str) -> str:
    """A claim IRI from its full IRI, ``id:claim/<hash>``, ``claim/<hash>`` or the bare hash."""
    text = text.strip().strip("<>")
    if text.startswith(("http://", "https://")):
        try:
            return ox.NamedNode(text).value  # validated: the IRI is later written into SPARQL text
        except ValueError:
            raise UnknownClaimError(f"{text!r} is not a valid IRI") from None
    if text.startswith("id:"):
        return str(ID) + text[3:]
    if text.startswith("claim/"):
        return str(ID) + text
    if re.fullmatch(r"[0-9a-f]{6,64}", text):
        return str(ID[f"claim/{text}"])
    raise UnknownClaimError(f"{text!r} is not a claim id; give its IRI, id:claim/<hash> or the hash")


def verdict_uncertainty(verdict: str | None, *, discovery: str | None = None, effect: float | None = None,
                        ci_low: float | None = None, ci_high: float | None = None,
                        refuter_passed: Sequence[bool | None] = (), refuter_p_values: Sequence[float | None] = (),
                        margin: float = 0.05, reason: str = "") -> float:
    """How unsure a verdict is, in [0, 1]: what puts a claim near the top of the review queue.

    A verdict near its decision boundary (an interval that barely excludes zero, or barely fits the
    no-effect margin), a refuter that fails or nearly fails, and discovery disagreeing with the
    estimate all raise it; a claim never validated, or untestable on the data, sits in the middle.
    """
    if verdict is None:
        return 0.6
    if verdict == "notTestable":
        data_limited = any(k in reason for k in ("too few samples", "inconclusive", "too wide"))
        base = 0.5 if data_limited else 0.3
    else:
        finite = all(v is not None and math.isfinite(v) for v in (effect, ci_low, ci_high))
        if not finite:
            base = 0.5
        else:
            assert effect is not None and ci_low is not None and ci_high is not None
            se = (ci_high - ci_low) / 3.92
            z = abs(effect) / se if se > 0 else math.inf
            excludes_zero = ci_low > 0 or ci_high < 0
            if excludes_zero:
                base = min(1.0, (1.96 / z) ** 2) if z > 0 else 1.0
            else:  # a null result: how close the interval comes to an effect worth having
                base = min(1.0, max(abs(ci_low), abs(ci_high)) / margin) if margin > 0 else 1.0
        if any(p is False for p in refuter_passed):
            base = max(base, 0.8)
    n_refuters = max(len(refuter_p_values), 1)
    near = sum(1 for p, ok in zip(refuter_p_values, refuter_passed, strict=False)
               if ok and p is not None and p < 2 * 0.05 / n_refuters)
    base += 0.1 * near
    if discovery is not None:
        disagrees = (verdict == "validated" and discovery in ("contradicted", "reversed")) or (
            verdict == "refuted" and discovery == "supported")
        if disagrees:
            base += 0.3
    return round(min(1.0, max(0.0, base)), 4)


# ------------------------------------------------------------------------------------------ reading
@dataclass
class _State:
    iri: str
    graph: str
    subject: str
    object: str
    terms: dict[str, list[Term]] = field(default_factory=dict)
    version: int = 1
    version_term: Term | None = None
    label_terms: list[Term] = field(default_factory=list)

    def value(self, name: str) -> str | None:
        vals = self.terms.get(name) or []
        return vals[0].value if vals else None

    @property
    def status(self) -> str:
        return _mcrag_local(self.value("status")) or "proposed"

    @property
    def relation(self) -> str:
        return _mcrag_local(self.value("relation")) or "causes"

    @property
    def polarity(self) -> str:
        return self.value("polarity") or "positive"


_FIELD_PREDICATES: dict[str, str] = {
    "status": str(MCRAG.status),
    "relation": _RDF + "predicate",
    "certainty": str(MCRAG.certainty),
    "polarity": str(MCRAG.polarity),
    "confidence": str(MCRAG.confidence),
    "mechanism": str(MCRAG.mechanism),
}


def _read_state(store: Store, claim: str) -> _State:
    rows = store.query(f"""SELECT ?g ?s ?o ?p ?v WHERE {{
        GRAPH ?g {{ <{claim}> a mcrag:CausalClaim ; rdf:subject ?s ; rdf:object ?o . <{claim}> ?p ?v }}
    }}""")
    if not rows.rows:
        raise UnknownClaimError(f"no causal claim {claim} in the store")
    idx = {v: i for i, v in enumerate(rows.variables)}
    first = rows.rows[0]
    graph = first[idx["g"]].value  # type: ignore[union-attr]
    state = _State(claim, graph, first[idx["s"]].value, first[idx["o"]].value)  # type: ignore[union-attr]
    by_pred = {p: name for name, p in _FIELD_PREDICATES.items()}
    for row in rows.rows:
        if row[idx["g"]].value != graph:  # type: ignore[union-attr]
            continue
        p, v = row[idx["p"]].value, row[idx["v"]]  # type: ignore[union-attr]
        assert v is not None
        if p in by_pred:
            state.terms.setdefault(by_pred[p], []).append(v)
        elif p == str(MCRAG.version):
            state.version_term = v
            state.version = int(float(v.value))
        elif p == _RDFS + "label":
            state.label_terms.append(v)
    return state


def _labels(store: Store, iris: Iterable[str]) -> dict[str, str]:
    todo = sorted(set(iris))
    out: dict[str, str] = {}
    for i in range(0, len(todo), 400):
        chunk = " ".join(f"<{x}>" for x in todo[i:i + 400])
        for r in store.select(f"""SELECT ?c (SAMPLE(?pl) AS ?p) (SAMPLE(?rl) AS ?r) WHERE {{ VALUES ?c {{ {chunk} }}
                OPTIONAL {{ ?c skos:prefLabel ?pl }} OPTIONAL {{ ?c rdfs:label ?rl }} }} GROUP BY ?c"""):
            if r["c"] and (r["p"] or r["r"]):
                out[r["c"]] = r["p"] or r["r"] or ""
    return out


def _local(iri: str) -> str:
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def _validations(store: Store, claims: Sequence[str]) -> dict[str, list[ValidationView]]:
    """Validation results per claim, newest first."""
    if not claims:
        return {}
    out: dict[str, list[ValidationView]] = {}
    for i in range(0, len(claims), 300):
        chunk = " ".join(f"<{c}>" for c in claims[i:i + 300])
        rows = store.select(f"""SELECT ?c ?r ?run ?t ?verdict ?disc ?estimand ?estimator ?effect ?lo ?hi ?n ?ds ?reason
            WHERE {{ VALUES ?c {{ {chunk} }} ?c mcrag:hasValidation ?r .
              OPTIONAL {{ ?r prov:wasGeneratedBy ?run . OPTIONAL {{ ?run prov:endedAtTime ?t }} }}
              OPTIONAL {{ ?r mcrag:verdict ?verdict }} OPTIONAL {{ ?r mcrag:discovery ?disc }}
              OPTIONAL {{ ?r mcrag:estimand ?estimand }} OPTIONAL {{ ?r mcrag:estimator ?estimator }}
              OPTIONAL {{ ?r mcrag:effect ?effect }} OPTIONAL {{ ?r mcrag:ciLow ?lo }} OPTIONAL {{ ?r mcrag:ciHigh ?hi }}
              OPTIONAL {{ ?r mcrag:sampleSize ?n }} OPTIONAL {{ ?r mcrag:dataset ?ds }} OPTIONAL {{ ?r mcrag:reason ?reason }}
            }}""")
        results = sorted({r["r"] for r in rows if r["r"]})
        refs: dict[str, list[RefutationView]] = {}
        for j in range(0, len(results), 300):
            rchunk = " ".join(f"<{x}>" for x in results[j:j + 300])
            for rr in store.select(f"""SELECT ?r ?name ?passed ?p ?new WHERE {{ VALUES ?r {{ {rchunk} }}
                    ?r mcrag:hasRefutation ?x . ?x mcrag:refuter ?name .
                    OPTIONAL {{ ?x mcrag:passed ?passed }} OPTIONAL {{ ?x mcrag:pValue ?p }}
                    OPTIONAL {{ ?x mcrag:newEffect ?new }} }} ORDER BY ?name"""):
                passed = None if rr["passed"] is None else rr["passed"] in ("true", "1")
                refs.setdefault(rr["r"] or "", []).append(
                    RefutationView(rr["name"] or "", passed, _float(rr["p"]), _float(rr["new"])))
        seen: set[tuple[str, str]] = set()
        for r in rows:
            key = (r["c"] or "", r["r"] or "")
            if key in seen:
                continue
            seen.add(key)
            out.setdefault(key[0], []).append(ValidationView(
                result=key[1], activity=r["run"], time=_time(r["t"]), verdict=_mcrag_local(r["verdict"]),
                discovery=r["disc"], estimand=r["estimand"], estimator=r["estimator"], effect=_float(r["effect"]),
                ci_low=_float(r["lo"]), ci_high=_float(r["hi"]),
                sample_size=int(float(r["n"])) if r["n"] else None, dataset=r["ds"], reason=r["reason"],
                refutations=tuple(refs.get(key[1], ()))))
    floor = datetime.min.replace(tzinfo=UTC)
    for views in out.values():
        views.sort(key=lambda v: (v.time or floor, v.result), reverse=True)
    return out


def _sentences_and_sources(store: Store, claims: Sequence[str]) -> dict[str, tuple[list[str], list[Source]]]:
    out: dict[str, tuple[list[str], list[Source]]] = {c: ([], []) for c in claims}
    for i in range(0, len(claims), 300):
        chunk = " ".join(f"<{c}>" for c in claims[i:i + 300])
        for r in store.select(f"""SELECT ?c ?sentence ?doc ?ident ?coll ?cit ?section WHERE {{ VALUES ?c {{ {chunk} }}
                OPTIONAL {{ ?c mcrag:sentence ?sentence }}
                OPTIONAL {{ ?c prov:wasDerivedFrom ?span . ?span oa:hasSource ?doc .
                            OPTIONAL {{ ?span mcrag:section ?section }}
                            OPTIONAL {{ ?doc dcterms:identifier ?ident }} OPTIONAL {{ ?doc dcterms:source ?coll }}
                            OPTIONAL {{ ?doc dcterms:bibliographicCitation ?cit }} }} }}"""):
            sentences, sources = out[r["c"] or ""]
            if r["sentence"] and r["sentence"] not in sentences:
                sentences.append(r["sentence"])
            if r["doc"] and all(s.document != r["doc"] for s in sources):
                sources.append(Source(r["doc"], r["ident"], r["coll"], r["cit"], r["sentence"], r["section"]))
    return out


def claim_detail(store: Store, claim_iri: str) -> ClaimDetail:
    """The claim with its sentences, sources, validation results (newest first) and audit trail."""
    claim = resolve_claim_iri(claim_iri)
    state = _read_state(store, claim)
    labels = _labels(store, [state.subject, state.object])
    extra = store.select(f"""SELECT ?m WHERE {{ <{claim}> mcrag:mediator ?m }} LIMIT 1""")
    texts = _sentences_and_sources(store, [claim])[claim]
    return ClaimDetail(
        iri=claim, graph=state.graph, label=state.label_terms[0].value if state.label_terms else "",
        subject=state.subject, subject_label=labels.get(state.subject, _local(state.subject)),
        relation=state.relation, object=state.object, object_label=labels.get(state.object, _local(state.object)),
        polarity=state.polarity, certainty=_mcrag_local(state.value("certainty")),
        confidence=_float(state.value("confidence")), status=state.status, version=state.version,
        mechanism=state.value("mechanism"), mediator=extra[0]["m"] if extra else None,
        sentences=tuple(texts[0]), sources=tuple(texts[1]),
        validations=tuple(_validations(store, [claim]).get(claim, [])), history=tuple(history(store, claim)))


# ------------------------------------------------------------------------------------------ queue
def _edge_rows(store: Store) -> list[dict[str, str | None]]:
    return store.select("""SELECT ?c ?s ?o ?status ?pol ?version ?label WHERE {
        ?c a mcrag:CausalClaim ; rdf:subject ?s ; rdf:object ?o .
        OPTIONAL { ?c mcrag:status ?status } OPTIONAL { ?c mcrag:polarity ?pol }
        OPTIONAL { ?c mcrag:version ?version } OPTIONAL { ?c rdfs:label ?label } }""")


def review_queue(store: Store, limit: int = 20, *, statuses: Sequence[str] = REVIEWABLE_STATUSES) -> list[ReviewItem]:
    """Claims awaiting a decision, most important first: uncertain verdicts on high-impact edges.

    Impact grows with how much of the graph lies downstream of the edge's effect, with how many claims
    state the edge, and with whether it touches one of the 14 radiology findings the VLM grounds on.
    Priority = (0.2 + uncertainty) x impact, so a sure verdict on a central edge can still outrank a
    doubtful one on a leaf.
    """
    rows = _edge_rows(store)
    live = nx.DiGraph()
    per_edge: dict[tuple[str, str], int] = {}
    claims: dict[str, dict[str, str | None]] = {}
    for r in rows:
        c, s, o = r["c"] or "", r["s"] or "", r["o"] or ""
        if c in claims:
            continue
        claims[c] = r
        st = _mcrag_local(r["status"]) or "proposed"
        per_edge[(s, o)] = per_edge.get((s, o), 0) + 1
        if (r["pol"] or "positive") == "positive" and st not in ("rejected", "refuted") and s != o:
            live.add_edge(s, o)
    wanted = {c: r for c, r in claims.items() if (_mcrag_local(r["status"]) or "proposed") in statuses}
    findings = {c.iri for c in FINDING_CONCEPTS.values()}
    validations = _validations(store, sorted(wanted))
    items = []
    for c, r in wanted.items():
        s, o = r["s"] or "", r["o"] or ""
        downstream = len(nx.descendants(live, o)) if o in live else 0
        support = per_edge.get((s, o), 1)
        touches = s in findings or o in findings
        impact = 1.0 + math.log1p(downstream) + math.log1p(support - 1) + (0.5 if touches else 0.0)
        views = validations.get(c)
        latest = views[0] if views else None
        if latest is None:
            unc = verdict_uncertainty(None)
            why = "not validated yet"
        else:
            unc = verdict_uncertainty(
                latest.verdict, discovery=latest.discovery, effect=latest.effect, ci_low=latest.ci_low,
                ci_high=latest.ci_high, refuter_passed=[x.passed for x in latest.refutations],
                refuter_p_values=[x.p_value for x in latest.refutations], reason=latest.reason or "")
            why = f"{latest.verdict} (uncertainty {unc:.2f})"
        why += f"; {downstream} concept(s) downstream, {support} claim(s) on this edge"
        if touches:
            why += ", touches a radiology finding"
        items.append(ReviewItem(
            claim=c, label=r["label"] or "", subject_label="", relation="", object_label="",
            status=_mcrag_local(r["status"]) or "proposed", version=int(float(r["version"])) if r["version"] else 1,
            verdict=latest.verdict if latest else None, effect=latest.effect if latest else None,
            ci_low=latest.ci_low if latest else None, ci_high=latest.ci_high if latest else None,
            uncertainty=unc, impact=round(impact, 4), priority=round((0.2 + unc) * impact, 4), why=why,
            validation_reason=latest.reason if latest else None))
    items.sort(key=lambda i: (-i.priority, i.claim))
    top = items[:max(limit, 0)]
    if not top:
        return []
    texts = _sentences_and_sources(store, [i.claim for i in top])
    labels = _labels(store, {claims[i.claim]["s"] or "" for i in top} | {claims[i.claim]["o"] or "" for i in top})
    rel_rows = store.select("SELECT ?c ?p WHERE { VALUES ?c { " + " ".join(f"<{i.claim}>" for i in top)
                            + " } ?c rdf:predicate ?p }")
    rels = {r["c"]: _mcrag_local(r["p"]) or "" for r in rel_rows}
    out = []
    for i in top:
        s, o = claims[i.claim]["s"] or "", claims[i.claim]["o"] or ""
        sentences, sources = texts.get(i.claim, ([], []))
        out.append(replace(
            i, subject_label=labels.get(s, _local(s)), object_label=labels.get(o, _local(o)),
            relation=rels.get(i.claim, ""), sentences=tuple(sentences),
            sources=tuple(x.citation or x.identifier or x.document for x in sources)))
    return out


# ------------------------------------------------------------------------------------------ acts
def _agent_iri(curator: str) -> str:
    return str(ID[f"agent/curator/{slug(curator)}"])


def _edge_triple(state_rel: str, polarity: str, status: str, s: str, o: str) -> tuple[str, str, str] | None:
    if polarity != "positive" or status == "rejected":
        return None
    return (s, str(MCRAG[state_rel]), o)


def _field_value_nt(name: str, value: str | float) -> str:
    if name in ("status", "relation", "certainty"):
        return _uri(str(MCRAG[str(value)]))
    if name == "confidence":
        return _lit(float(value))
    return _lit(str(value))


def _check_value(name: str, value: str | float) -> None:
    allowed = {"status": STATUSES, "relation": RELATION_KINDS, "certainty": CERTAINTIES, "polarity": POLARITIES}
    if name in allowed and value not in allowed[name]:
        raise CurationError(f"{name} must be one of {', '.join(allowed[name])}, not {value!r}")
    if name == "confidence" and not (isinstance(value, int | float) and 0.0 <= float(value) <= 1.0):
        raise CurationError(f"confidence must be a number in [0, 1], not {value!r}")
    if name == "mechanism" and not str(value).strip():
        raise CurationError("mechanism must not be empty")


def _require(curator: str, reason: str) -> None:
    if not curator or not curator.strip():
        raise CurationError("a curation act needs the curator's identity (--curator or $MCRAG_CURATOR)")
    if not reason or not reason.strip():
        raise CurationError("a curation act needs a reason")


def _apply(store: Store, state: _State, action: Action, curator: str, reason: str,
           new_values: Mapping[str, str | None], *, undoes: str | None = None) -> CurationRecord:
    """Write one act: the field changes, the version bump, the edge upkeep and the PROV record, all guarded."""
    g, c = state.graph, state.iri
    changes: list[FieldChange] = []
    delete, insert = [], []
    for name, new_nt in new_values.items():
        old_terms = state.terms.get(name, [])
        old_nt = _nt(old_terms[0]) if old_terms else None
        if _same_term(old_nt, new_nt) and len(old_terms) <= 1:
            continue
        changes.append(FieldChange(name, old_nt, new_nt))
        pred = _uri(_FIELD_PREDICATES[name])
        delete += [f"{_uri(c)} {pred} {_nt(t)} ." for t in old_terms]
        if new_nt is not None:
            insert.append(f"{_uri(c)} {pred} {new_nt} .")
    if not changes:
        raise CurationError(f"nothing to change: claim {c} already has those values")

    def after(name: str, current: str) -> str:
        for ch in changes:
            if ch.field == name and ch.new is not None:
                return _mcrag_local(_nt_term(ch.new).value) or current
        return current

    new_status, new_rel, new_pol = after("status", state.status), after("relation", state.relation), \
        after("polarity", state.polarity)
    before_edge = _edge_triple(state.relation, state.polarity, state.status, state.subject, state.object)
    after_edge = _edge_triple(new_rel, new_pol, new_status, state.subject, state.object)
    edge_guard = ""
    if before_edge != after_edge:
        if after_edge:
            insert.append(" ".join(_uri(x) for x in after_edge) + " .")
        if before_edge:
            s, p, o = (_uri(x) for x in before_edge)
            delete.append("?es ?ep ?eo .")
            edge_guard = f"""OPTIONAL {{
      FILTER NOT EXISTS {{ GRAPH {_uri(g)} {{
        ?other rdf:subject {s} ; rdf:predicate {p} ; rdf:object {o} ; mcrag:polarity "positive" .
        FILTER (?other != {_uri(c)})
        FILTER NOT EXISTS {{ ?other mcrag:status mcrag:rejected }} }} }}
      BIND ({s} AS ?es) BIND ({p} AS ?ep) BIND ({o} AS ?eo) }}"""
    if {"relation", "polarity"} & {ch.field for ch in changes}:
        labels = _labels(store, [state.subject, state.object])
        text = f"{labels.get(state.subject, _local(state.subject))} {new_rel} {labels.get(state.object, _local(state.object))}"
        text += " (negated)" if new_pol == "negative" else ""
        delete += [f"{_uri(c)} rdfs:label {_nt(t)} ." for t in state.label_terms]
        insert.append(f"{_uri(c)} rdfs:label {str(ox.Literal(text, language='en'))} .")
    to_version = state.version + 1
    if state.version_term is not None:
        delete.append(f"{_uri(c)} mcrag:version {_nt(state.version_term)} .")
        guard = f"GRAPH {_uri(g)} {{ {_uri(c)} mcrag:version {_nt(state.version_term)} }}"
    else:
        guard = (f"GRAPH {_uri(g)} {{ {_uri(c)} a mcrag:CausalClaim }} "
                 f"FILTER NOT EXISTS {{ GRAPH {_uri(g)} {{ {_uri(c)} mcrag:version ?anyVersion }} }}")
    insert.append(f"{_uri(c)} mcrag:version {_lit(to_version)} .")

    now = datetime.now(UTC)
    act = str(ID[f"activity/curate/{now.strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:8]}"])
    agent = _agent_iri(curator)
    prov = [
        f"{_uri(act)} a mcrag:CurationActivity , prov:Activity .",
        f"{_uri(act)} mcrag:action {_lit(action)} .",
        f"{_uri(act)} mcrag:reason {_lit(reason.strip())} .",
        f"{_uri(act)} prov:used {_uri(c)} .",
        f"{_uri(act)} prov:wasAssociatedWith {_uri(agent)} .",
        f"{_uri(act)} prov:endedAtTime {_lit(now.isoformat(), _XSD + 'dateTime')} .",
        f"{_uri(act)} mcrag:previousStatus {_uri(str(MCRAG[state.status]))} .",
        f"{_uri(act)} mcrag:newStatus {_uri(str(MCRAG[new_status]))} .",
        f"{_uri(act)} mcrag:fromVersion {_lit(state.version)} .",
        f"{_uri(act)} mcrag:toVersion {_lit(to_version)} .",
        f"{_uri(act)} rdfs:label {_lit(f'{action} by {curator.strip()}')} .",
        f"{_uri(agent)} a prov:Person , prov:Agent .",
        f"{_uri(agent)} rdfs:label {_lit(curator.strip())} .",
    ]
    if undoes:
        prov.append(f"{_uri(act)} mcrag:undoes {_uri(undoes)} .")
    for ch in changes:
        node = _uri(f"{act}/change/{ch.field}")
        prov += [f"{_uri(act)} mcrag:change {node} .", f"{node} mcrag:field {_lit(ch.field)} ."]
        if ch.old is not None:
            prov.append(f"{node} mcrag:oldValue {_lit(ch.old)} .")
        if ch.new is not None:
            prov.append(f"{node} mcrag:newValue {_lit(ch.new)} .")
    nl = "\n    "
    update = f"""DELETE {{ GRAPH {_uri(g)} {{
    {nl.join(delete)} }} }}
INSERT {{ GRAPH {_uri(g)} {{
    {nl.join(insert)} }}
  GRAPH {_uri(NAMED_GRAPHS['curated'])} {{
    {nl.join(prov)} }} }}
WHERE {{ {guard} {edge_guard} }}"""
    store.update(update)
    if not store.ask(f"ASK {{ GRAPH <{NAMED_GRAPHS['curated']}> {{ <{act}> a mcrag:CurationActivity }} }}"):
        current = _read_state(store, c).version
        raise StaleVersionError(f"claim {c} changed while this act was written (now version {current}); "
                                "nothing was changed: reload it and retry")
    return CurationRecord(act, c, action, curator.strip(), reason.strip(), now, state.status, new_status,
                          state.version, to_version, tuple(changes), undoes)


def _checked_state(store: Store, claim_iri: str, expected_version: int | None) -> _State:
    state = _read_state(store, resolve_claim_iri(claim_iri))
    if expected_version is not None and int(expected_version) != state.version:
        raise StaleVersionError(
            f"claim {state.iri} is at version {state.version}, but this act was based on version "
            f"{expected_version}; nothing was changed: reload the claim and decide again")
    return state


def accept(store: Store, claim_iri: str, curator: str, reason: str, expected_version: int) -> CurationRecord:
    """Mark the claim accepted (curator-confirmed)."""
    _require(curator, reason)
    state = _checked_state(store, claim_iri, expected_version)
    return _apply(store, state, "accept", curator, reason, {"status": _field_value_nt("status", "accepted")})


def reject(store: Store, claim_iri: str, curator: str, reason: str, expected_version: int) -> CurationRecord:
    """Mark the claim rejected; its materialised edge goes unless another live claim states it."""
    _require(curator, reason)
    state = _checked_state(store, claim_iri, expected_version)
    return _apply(store, state, "reject", curator, reason, {"status": _field_value_nt("status", "rejected")})


def edit(store: Store, claim_iri: str, curator: str, reason: str, expected_version: int, *,
         relation: str | None = None, certainty: str | None = None, polarity: str | None = None,
         confidence: float | None = None, mechanism: str | None = None, status: str | None = None) -> CurationRecord:
    """Change some of relation kind, certainty, polarity, confidence, mechanism and status in one act.

    Cause and effect cannot be edited: they are the claim's identity (reject it and add the right one).
    """
    _require(curator, reason)
    given = {"relation": relation, "certainty": certainty, "polarity": polarity, "confidence": confidence,
             "mechanism": mechanism, "status": status}
    values = {k: v for k, v in given.items() if v is not None}
    if not values:
        raise CurationError(f"an edit must change at least one of {', '.join(EDITABLE_FIELDS)}")
    for k, v in values.items():
        _check_value(k, v)
    state = _checked_state(store, claim_iri, expected_version)
    return _apply(store, state, "edit", curator, reason, {k: _field_value_nt(k, v) for k, v in values.items()})


def undo(store: Store, claim_iri: str, curator: str, reason: str, expected_version: int | None = None) -> CurationRecord:
    """Revert the claim's latest curation act that is not itself an undo and not undone yet.

    Each changed field goes back to its value before that act, provided it still holds the value that
    act set; otherwise a later change would be lost, and the undo is refused.
    """
    _require(curator, reason)
    state = _checked_state(store, claim_iri, expected_version)
    trail = [r for r in history(store, state.iri) if r.action in ("accept", "reject", "edit")]
    open_acts = [r for r in trail if r.undone_by is None]
    if not open_acts:
        raise CurationConflictError(f"claim {state.iri} has no curation act left to undo")
    target = open_acts[-1]
    restore: dict[str, str | None] = {}
    for ch in target.changes:
        current = state.terms.get(ch.field, [])
        current_nt = _nt(current[0]) if current else None
        if not _same_term(current_nt, ch.new):
            raise CurationConflictError(
                f"cannot undo {target.action} of {target.time.isoformat()}: {ch.field} has changed since "
                f"(now {current_nt}, that act set {ch.new}); nothing was changed")
        restore[ch.field] = ch.old
    return _apply(store, state, "undo", curator, reason, restore, undoes=target.activity)


def history(store: Store, claim_iri: str) -> list[CurationRecord]:
    """The claim's audit trail, oldest first: every curation act and every validation verdict."""
    claim = resolve_claim_iri(claim_iri)
    if not store.ask(f"ASK {{ <{claim}> a mcrag:CausalClaim }}"):
        raise UnknownClaimError(f"no causal claim {claim} in the store")
    rows = store.select(f"""SELECT ?a ?action ?reason ?who ?t ?prev ?new ?fv ?tv ?undoes WHERE {{
        ?a a mcrag:CurationActivity ; prov:used <{claim}> ; mcrag:action ?action ; prov:endedAtTime ?t .
        OPTIONAL {{ ?a mcrag:reason ?reason }} OPTIONAL {{ ?a prov:wasAssociatedWith ?ag . ?ag rdfs:label ?who }}
        OPTIONAL {{ ?a mcrag:previousStatus ?prev }} OPTIONAL {{ ?a mcrag:newStatus ?new }}
        OPTIONAL {{ ?a mcrag:fromVersion ?fv }} OPTIONAL {{ ?a mcrag:toVersion ?tv }}
        OPTIONAL {{ ?a mcrag:undoes ?undoes }} }}""")
    change_rows = store.select(f"""SELECT ?a ?f ?old ?new WHERE {{
        ?a a mcrag:CurationActivity ; prov:used <{claim}> ; mcrag:change ?ch . ?ch mcrag:field ?f .
        OPTIONAL {{ ?ch mcrag:oldValue ?old }} OPTIONAL {{ ?ch mcrag:newValue ?new }} }} ORDER BY ?f""")
    changes: dict[str, list[FieldChange]] = {}
    for r in change_rows:
        changes.setdefault(r["a"] or "", []).append(FieldChange(r["f"] or "", r["old"], r["new"]))
    undone_by = {r["undoes"]: r["a"] for r in rows if r["undoes"]}
    records: dict[str, CurationRecord] = {}
    for r in rows:
        a = r["a"] or ""
        if a in records:
            continue
        records[a] = CurationRecord(
            activity=a, claim=claim, action=r["action"] or "", agent=r["who"] or "", reason=r["reason"] or "",
            time=_time(r["t"]) or datetime.min.replace(tzinfo=UTC), previous_status=_mcrag_local(r["prev"]),
            new_status=_mcrag_local(r["new"]), from_version=int(float(r["fv"])) if r["fv"] else None,
            to_version=int(float(r["tv"])) if r["tv"] else None, changes=tuple(changes.get(a, ())),
            undoes=r["undoes"], undone_by=undone_by.get(a))
    for v in _validations(store, [claim]).get(claim, []):
        agent_rows = store.select(f"""SELECT ?who WHERE {{ <{v.activity}> prov:wasAssociatedWith ?ag .
            ?ag rdfs:label ?who }} LIMIT 1""") if v.activity else []
        records[v.result] = CurationRecord(
            activity=v.activity or v.result, claim=claim, action="validate",
            agent=(agent_rows[0]["who"] or "") if agent_rows else "", reason=v.reason or "",
            time=v.time or datetime.min.replace(tzinfo=UTC), previous_status=None, new_status=v.verdict)
    return sorted(records.values(), key=lambda r: (r.time, r.to_version or 0, r.activity))


# ------------------------------------------------------------------------------------------ export
@dataclass(frozen=True)
class CuratedEdge:
    """One edge of the curated graph with what supports it."""

    subject: str
    object: str
    relation: str
    status: str
    claims: int
    effect: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


def curated_edges(store: Store, statuses: Sequence[str] = CURATED_STATUSES) -> tuple[list[CuratedEdge], dict[str, str]]:
    """Edges of positive claims in ``statuses`` (one per cause/relation/effect) and the concept labels."""
    chosen = " ".join(f"mcrag:{s}" for s in statuses)
    rows = store.select(f"""SELECT ?c ?s ?p ?o ?status WHERE {{
        ?c a mcrag:CausalClaim ; rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; mcrag:status ?status .
        OPTIONAL {{ ?c mcrag:polarity ?pol }} FILTER (COALESCE(?pol, "positive") = "positive")
        VALUES ?status {{ {chosen} }} }}""")
    rank = {s: i for i, s in enumerate(("accepted", "validated", "proposed", "notTestable", "refuted", "rejected"))}
    grouped: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    for r in rows:
        grouped.setdefault((r["s"] or "", _mcrag_local(r["p"]) or "", r["o"] or ""), []).append(
            (r["c"] or "", _mcrag_local(r["status"]) or ""))
    validations = _validations(store, sorted({c for v in grouped.values() for c, _ in v}))
    edges = []
    for (s, p, o), members in sorted(grouped.items()):
        status = min((st for _, st in members), key=lambda x: rank.get(x, 99))
        latest = [validations[c][0] for c, _ in members if validations.get(c)]
        latest.sort(key=lambda v: v.time or datetime.min.replace(tzinfo=UTC), reverse=True)
        v = latest[0] if latest else None
        edges.append(CuratedEdge(s, o, p, status, len(members), v.effect if v else None,
                                 v.ci_low if v else None, v.ci_high if v else None))
    labels = _labels(store, {e.subject for e in edges} | {e.object for e in edges})
    return edges, labels


def curated_digraph(store: Store, statuses: Sequence[str] = CURATED_STATUSES) -> nx.MultiDiGraph:
    """The curated graph for networkx: node ``label``, edge ``relation``/``status``/``claims``/``effect``."""
    edges, labels = curated_edges(store, statuses)
    g = nx.MultiDiGraph()
    for e in edges:
        for n in (e.subject, e.object):
            g.add_node(n, label=labels.get(n, _local(n)), finding=finding_for_concept_iri(n) or "")
        attrs: dict[str, object] = {"relation": e.relation, "status": e.status, "claims": e.claims}
        for k, v in (("effect", e.effect), ("ci_low", e.ci_low), ("ci_high", e.ci_high)):
            if v is not None:
                attrs[k] = v
        g.add_edge(e.subject, e.object, key=e.relation, **attrs)
    return g


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_STATUS_COLOURS = {"accepted": "#2e7d32", "validated": "#1565c0", "proposed": "#757575",
                   "notTestable": "#ef6c00", "refuted": "#c62828", "rejected": "#6a1b9a"}


def to_dot(g: nx.MultiDiGraph) -> str:
    """Graphviz DOT text (written directly: no Graphviz needed to produce it)."""
    lines = ["digraph mcrag {", "  rankdir=LR;", '  node [shape=box, style="rounded"];']
    for n, data in sorted(g.nodes(data=True)):
        lines.append(f"  {_dot_quote(n)} [label={_dot_quote(str(data.get('label', n)))}];")
    for u, v, data in sorted(g.edges(data=True), key=lambda e: (e[0], e[1], str(e[2].get("relation")))):
        label = str(data.get("relation", ""))
        if "effect" in data:
            label += f"\n{float(str(data['effect'])):+.3f}"
        colour = _STATUS_COLOURS.get(str(data.get("status")), "black")
        lines.append(f"  {_dot_quote(u)} -> {_dot_quote(v)} [label={_dot_quote(label)}, "
                     f"color={_dot_quote(colour)}, status={_dot_quote(str(data.get('status')))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


ExportFormat = Literal["turtle", "graphml", "dot"]


def export_curated(store: Store, out: Path | BinaryIO, fmt: ExportFormat | str = "turtle", *,
                   statuses: Sequence[str] = CURATED_STATUSES) -> int:
    """Write the curated graph as Turtle (claims, concepts, edges, validation and curation records),
    GraphML or DOT; returns the number of edges (GraphML/DOT) or triples (Turtle)."""
    if fmt not in ("turtle", "graphml", "dot"):
        raise CurationError(f"unknown export format {fmt!r}; use turtle, graphml or dot")
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise CurationError(f"unknown status {bad[0]!r}; use some of {', '.join(STATUSES)}")
    buf = io.BytesIO()
    if fmt == "turtle":
        # each branch selects the claims itself: SPARQL evaluates a UNION branch without the outer bindings
        sel = ("?c a mcrag:CausalClaim ; mcrag:status ?st . VALUES ?st { "
               + " ".join(f"mcrag:{s}" for s in statuses) + " }")
        labels = "rdf:type, skos:prefLabel, rdfs:label, skos:altLabel, skos:exactMatch, skos:notation"
        result = store.query(f"""CONSTRUCT {{ ?x ?p ?v }} WHERE {{
            {{ {sel} BIND (?c AS ?x) ?x ?p ?v }}
            UNION {{ {sel} ?c rdf:subject|rdf:object|mcrag:mediator ?x . ?x ?p ?v FILTER (?p IN ({labels})) }}
            UNION {{ {sel} ?c rdf:subject ?x ; rdf:predicate ?p ; rdf:object ?v ; mcrag:polarity "positive" }}
            UNION {{ {sel} ?c prov:wasDerivedFrom/(oa:hasSelector|oa:hasSource)? ?x . ?x ?p ?v }}
            UNION {{ {sel} ?c mcrag:hasValidation ?x . ?x ?p ?v }}
            UNION {{ {sel} ?c mcrag:hasValidation/mcrag:hasRefutation ?x . ?x ?p ?v }}
            UNION {{ {sel} ?x a mcrag:CurationActivity ; prov:used ?c . ?x ?p ?v }}
            UNION {{ {sel} ?a a mcrag:CurationActivity ; prov:used ?c ; mcrag:change ?x . ?x ?p ?v }}
        }}""")
        triples = [ox.Triple(_ox(s), ox.NamedNode(p.value), _ox(o)) for s, p, o in result.triples  # type: ignore[arg-type]
                   if s.kind != "literal"]
        ox.serialize(triples, buf, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)
        count = len(triples)
    else:
        g = curated_digraph(store, statuses)
        if fmt == "graphml":
            flat = nx.DiGraph()
            flat.add_nodes_from(g.nodes(data=True))
            for u, v, data in g.edges(data=True):
                if flat.has_edge(u, v):  # GraphML readers expect a simple graph: merge relation kinds
                    flat.edges[u, v]["relation"] += f",{data['relation']}"
                    flat.edges[u, v]["claims"] += data["claims"]
                else:
                    flat.add_edge(u, v, **data)
            nx.write_graphml(flat, buf)
        else:
            buf.write(to_dot(g).encode("utf-8"))
        count = g.number_of_edges()
    data = buf.getvalue()
    if isinstance(out, Path):
        tmp = out.with_name(out.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(out)
    else:
        out.write(data)
    return count


def _ox(term: Term) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if term.kind == "uri":
        return ox.NamedNode(term.value)
    if term.kind == "bnode":
        return ox.BlankNode(term.value)
    if term.lang:
        return ox.Literal(term.value, language=term.lang)
    return ox.Literal(term.value, datatype=ox.NamedNode(term.datatype)) if term.datatype else ox.Literal(term.value)


def resolve_concept(store: Store, name: str) -> str:
    """A concept IRI from its IRI, local name, label or Open-i finding name (``Effusion``)."""
    if name.startswith(("http://", "https://")):
        return name
    if name in FINDING_CONCEPTS:
        return FINDING_CONCEPTS[name].iri
    key = slug(name)
    rows = store.select("""SELECT DISTINCT ?c ?l WHERE { ?x a mcrag:CausalClaim . { ?x rdf:subject ?c } UNION { ?x rdf:object ?c }
        OPTIONAL { ?c skos:prefLabel ?l } }""")
    for r in rows:
        c = r["c"] or ""
        if slug(_local(c)) == key or (r["l"] and slug(r["l"]) == key):
            return c
    raise CurationError(f"no concept named {name!r} in the graph's claims")


def render_subgraph(store: Store, out: Path, *, center: str | None = None, depth: int = 1,
                    statuses: Sequence[str] = CURATED_STATUSES, title: str | None = None) -> Path:
    """Draw the curated graph, or the part within ``depth`` steps of ``center``, as PNG or SVG (matplotlib)."""
    suffix = out.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise CurationError(f"{out}: render writes .png or .svg")
    g = curated_digraph(store, statuses)
    if center:
        c = resolve_concept(store, center)
        if c not in g:
            raise CurationError(f"{center!r} has no edge with status {', '.join(statuses)}")
        keep = set(nx.single_source_shortest_path_length(g.to_undirected(as_view=True), c, cutoff=max(depth, 0)))
        g = g.subgraph(keep).copy()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(g) ** 0.5 * 3), max(4.5, 1.1 * len(g) ** 0.5 * 3)))
    if len(g):
        pos = nx.kamada_kawai_layout(nx.Graph(g)) if len(g) > 2 else nx.spring_layout(g, seed=0)
        labels = {n: "\n".join(_wrap(str(d.get("label", n)))) for n, d in g.nodes(data=True)}
        node_colours = ["#fff3e0" if d.get("finding") else "#e3f2fd" for _, d in g.nodes(data=True)]
        nx.draw_networkx_nodes(g, pos, ax=ax, node_color=node_colours, edgecolors="#455a64", node_size=2200)
        nx.draw_networkx_labels(g, pos, labels, ax=ax, font_size=7)
        for status, colour in _STATUS_COLOURS.items():
            es = [(u, v) for u, v, d in g.edges(data=True) if d.get("status") == status]
            if es:
                nx.draw_networkx_edges(g, pos, edgelist=es, ax=ax, edge_color=colour, arrows=True, arrowsize=14,
                                       node_size=2200, style="solid" if status in ("accepted", "validated") else "dashed",
                                       connectionstyle="arc3,rad=0.08")
        edge_labels = {(u, v): f"{d['relation']}" + (f"\n{d['effect']:+.2f}" if "effect" in d else "")
                       for u, v, d in g.edges(data=True)}
        nx.draw_networkx_edge_labels(g, pos, edge_labels, ax=ax, font_size=6, label_pos=0.5)
    shown = sorted({d.get("status") for _, _, d in g.edges(data=True)} - {None})
    ax.legend(handles=[Line2D([0], [0], color=_STATUS_COLOURS.get(str(s), "black"), label=str(s)) for s in shown],
              loc="lower left", fontsize=7, frameon=False)
    ax.set_title(title or (f"MCRAG curated graph around {center} (depth {depth})" if center else "MCRAG curated graph"),
                 fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format=suffix[1:], dpi=150)
    plt.close(fig)
    return out


def _wrap(text: str, width: int = 16) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return [*lines, line] if line else lines
