"""Validation records: the one writer and the one reader of ``mcrag:ValidationResult``, and the one
definition of "the latest validation of a claim".

A validation run is a ``mcrag:ValidationActivity`` in the ``validation`` graph, associated with the
validating software and using a data set; each tested edge gets a ``mcrag:ValidationResult`` (verdict,
reason, estimand, effect with its interval, refutations, and how unsure the verdict is) attached to
every claim of that edge by ``mcrag:hasValidation``. Where the run moves a claim's status, the move is
a revision of the claim (``kg.revisions``) informed by the run, so it shows in the audit trail and
``undo`` reverts it like a curator's act.

**The latest validation** of a claim is the result whose run ended last; results of runs that ended
at the same instant are ordered by result IRI, and a result with no run time is older than any with
one. :func:`newest_first` is that order in Python and :data:`LATEST_RESULT_FILTER` the same order in
SPARQL; every reader (evidence for a prompt, the review queue, the curated graph, the ``kg query``
template) goes through one of the two.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyoxigraph as ox

from kg.namespaces import DCTERMS, ID, MCRAG, NAMED_GRAPHS, PROV, RDF, RDFS, XSD, mcrag_local
from kg.revisions import FieldChange, iri_nt, literal_nt, parse_time, revision_statements, status_nt
from kg.store.base import Store

VALIDATION_AGENT_LABEL = "mcrag validate"
"""``rdfs:label`` of the software agent every run is associated with."""

UNVALIDATED_UNCERTAINTY = 0.6
"""How unsure the graph is of a claim no run has judged (or whose result stored no uncertainty)."""


@dataclass(frozen=True)
class RefutationRecord:
    """One DoWhy refuter's outcome on a result."""

    refuter: str
    passed: bool | None
    p_value: float | None
    new_effect: float | None
    note: str | None = None


@dataclass(frozen=True)
class SourceEffectRecord:
    """An edge's adjusted effect in one data source of a cross-source run, or why there is none."""

    source: str
    effect: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    sample_size: int | None = None
    co_occurrences: int | None = None
    """Studies with both the cause and the effect (the smallest cells are what a minimum support guards)."""
    adjusted_for: str | None = None
    """The backdoor set used in this source, as text (``age, sex, view, pneumonia``)."""
    independent: bool = True
    """False when this source produced the claim (it is shown but cannot test it)."""
    note: str | None = None
    """Why no effect is reported here (no column, below the minimum support, produced the claim)."""


@dataclass(frozen=True)
class ValidationRecord:
    """A ``mcrag:ValidationResult``: what one run concluded about one edge, for every claim of the edge."""

    result: str
    """The result's IRI."""
    activity: str | None
    """The run (``mcrag:ValidationActivity``) that produced it."""
    time: datetime | None
    """When that run ended."""
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
    refutations: tuple[RefutationRecord, ...] = ()
    uncertainty: float | None = None
    """How unsure the verdict is, in [0, 1] (``reasoning.uncertainty``): what orders the review queue."""
    label: str | None = None
    per_source: tuple[SourceEffectRecord, ...] = ()
    """Cross-source runs: the effect in each source (``mcrag:sourceEffect``)."""
    across_sources: str | None = None
    """Cross-source runs: ``validated``, ``refuted``, ``mixed`` or ``notTestable`` (``mixed`` is stored as the
    verdict ``notTestable``; this keeps the finer word)."""
    holds_across_sources: bool | None = None
    """The independent sources' effects share one sign and Cochran's Q does not reject a common effect."""
    direction_basis: str | None = None
    """How the direction was decided: ``tiers``, ``discovery``, ``invariance`` or ``undetermined``."""
    direction_detail: str | None = None

    @property
    def estimated_on(self) -> tuple[str, ...]:
        """The independent sources with an effect."""
        return tuple(p.source for p in self.per_source if p.effect is not None and p.independent)


@dataclass(frozen=True)
class VerdictMove:
    """What a run does to one claim: attach a result and, where the verdict says so, move its status."""

    claim: str
    result: str | None
    """The result attached; ``None`` when the data do not measure the claim (nothing is written for it)."""
    previous_status: str
    new_status: str
    version: int
    """The claim version the run read; a claim changed since then is left as it is."""
    reason: str


@dataclass(frozen=True)
class ValidationRunRecord:
    """Everything one run writes, in one update."""

    activity: str
    dataset: str
    """``<title> (sha256:<digest>, ...)``."""
    started: datetime
    ended: datetime
    settings: str
    software_version: str
    results: tuple[ValidationRecord, ...]
    moves: tuple[VerdictMove, ...]


# ---------------------------------------------------------------------------------------- order
_FLOOR = datetime.min.replace(tzinfo=UTC)


def newest_first(records: Iterable[ValidationRecord]) -> list[ValidationRecord]:
    """Results newest first: the run's end time, then the result IRI; a result with no time is oldest."""
    return sorted(records, key=lambda v: (v.time or _FLOOR, v.result), reverse=True)


def latest_of(records: Iterable[ValidationRecord]) -> ValidationRecord | None:
    """The latest of some results (see :func:`newest_first`), or None."""
    ordered = newest_first(records)
    return ordered[0] if ordered else None


LATEST_RESULT_FILTER = """FILTER NOT EXISTS {{ ?{claim} mcrag:hasValidation ?newer . ?newer prov:wasGeneratedBy ?newerRun .
    ?newerRun prov:endedAtTime ?newerEnd .
    FILTER (?newerEnd > ?{ended} || (?newerEnd = ?{ended} && STR(?newer) > STR(?{result}))) }}"""
"""SPARQL for :func:`newest_first`: keeps ``?result`` only if no result of ``?claim`` is newer
(``?ended`` is the end time of ``?result``'s run)."""

VALIDATED_EDGES_QUERY = """SELECT DISTINCT ?cause ?effect ?verdict ?status ?effectSize ?ciLow ?ciHigh ?n ?estimand ?dataset ?ended
WHERE {
  ?claim a mcrag:CausalClaim ; rdf:subject ?s ; rdf:object ?o ; mcrag:status ?status ; mcrag:hasValidation ?r .
  ?r mcrag:verdict ?verdict ; mcrag:dataset ?dataset ; prov:wasGeneratedBy ?run .
  ?run prov:endedAtTime ?ended .
  OPTIONAL { ?r mcrag:effect ?effectSize ; mcrag:ciLow ?ciLow ; mcrag:ciHigh ?ciHigh ; mcrag:sampleSize ?n }
  OPTIONAL { ?r mcrag:estimand ?estimand }
  ?s skos:prefLabel ?cause . ?o skos:prefLabel ?effect .
  """ + LATEST_RESULT_FILTER.format(claim="claim", ended="ended", result="r") + """
  FILTER (?verdict IN (mcrag:validated, mcrag:refuted))
}
ORDER BY ?verdict DESC(?effectSize)"""
"""Latest verdict per claim, validated vs refuted, with effects (``mcrag kg query --file`` or ``Store.select``)."""


# ---------------------------------------------------------------------------------------- reading
VALIDATIONS_QUERY = """SELECT ?c ?r ?run ?t ?verdict ?disc ?estimand ?estimator ?effect ?lo ?hi ?n ?ds ?reason ?unc
WHERE {{ VALUES ?c {{ {values} }} ?c mcrag:hasValidation ?r .
  OPTIONAL {{ ?r prov:wasGeneratedBy ?run . OPTIONAL {{ ?run prov:endedAtTime ?t }} }}
  OPTIONAL {{ ?r mcrag:verdict ?verdict }} OPTIONAL {{ ?r mcrag:discovery ?disc }}
  OPTIONAL {{ ?r mcrag:estimand ?estimand }} OPTIONAL {{ ?r mcrag:estimator ?estimator }}
  OPTIONAL {{ ?r mcrag:effect ?effect }} OPTIONAL {{ ?r mcrag:ciLow ?lo }} OPTIONAL {{ ?r mcrag:ciHigh ?hi }}
  OPTIONAL {{ ?r mcrag:sampleSize ?n }} OPTIONAL {{ ?r mcrag:dataset ?ds }} OPTIONAL {{ ?r mcrag:reason ?reason }}
  OPTIONAL {{ ?r mcrag:uncertainty ?unc }}
}}"""

REFUTATIONS_QUERY = """SELECT ?r ?name ?passed ?p ?new ?note WHERE {{ VALUES ?r {{ {values} }}
  ?r mcrag:hasRefutation ?x . ?x mcrag:refuter ?name .
  OPTIONAL {{ ?x mcrag:passed ?passed }} OPTIONAL {{ ?x mcrag:pValue ?p }}
  OPTIONAL {{ ?x mcrag:newEffect ?new }} OPTIONAL {{ ?x rdfs:comment ?note }}
}} ORDER BY ?name"""

SOURCE_EFFECTS_QUERY = """SELECT ?r ?x ?src ?ind ?effect ?lo ?hi ?n ?both ?adj ?note WHERE {{ VALUES ?r {{ {values} }}
  ?r mcrag:sourceEffect ?x . ?x mcrag:source ?src .
  OPTIONAL {{ ?x mcrag:independent ?ind }} OPTIONAL {{ ?x mcrag:effect ?effect }}
  OPTIONAL {{ ?x mcrag:ciLow ?lo }} OPTIONAL {{ ?x mcrag:ciHigh ?hi }} OPTIONAL {{ ?x mcrag:sampleSize ?n }}
  OPTIONAL {{ ?x mcrag:coOccurrences ?both }} OPTIONAL {{ ?x mcrag:adjustedFor ?adj }} OPTIONAL {{ ?x rdfs:comment ?note }}
}} ORDER BY ?r ?src"""

ACROSS_SOURCES_QUERY = """SELECT ?r ?across ?holds ?basis ?detail WHERE {{ VALUES ?r {{ {values} }}
  OPTIONAL {{ ?r mcrag:acrossSources ?across }} OPTIONAL {{ ?r mcrag:holdsAcrossSources ?holds }}
  OPTIONAL {{ ?r mcrag:directionBasis ?basis }} OPTIONAL {{ ?r mcrag:directionDetail ?detail }}
}}"""

VALIDATED_EDGES_BY_SOURCE_QUERY = """SELECT DISTINCT ?cause ?effect ?source ?effectSize ?ciLow ?ciHigh ?n ?adjustedFor ?holds ?direction
WHERE {
  ?claim a mcrag:CausalClaim ; rdf:subject ?s ; rdf:object ?o ; mcrag:hasValidation ?r .
  ?r mcrag:verdict mcrag:validated ; mcrag:holdsAcrossSources ?holds ; mcrag:directionBasis ?direction ;
     prov:wasGeneratedBy ?run ; mcrag:sourceEffect ?x .
  ?run prov:endedAtTime ?ended .
  ?x mcrag:source ?source ; mcrag:independent true ; mcrag:effect ?effectSize ; mcrag:ciLow ?ciLow ;
     mcrag:ciHigh ?ciHigh ; mcrag:sampleSize ?n ; mcrag:adjustedFor ?adjustedFor .
  ?s skos:prefLabel ?cause . ?o skos:prefLabel ?effect .
  """ + LATEST_RESULT_FILTER.format(claim="claim", ended="ended", result="r") + """
}
ORDER BY ?cause ?effect ?source"""
"""Every data-validated edge (latest verdict per claim) with its effect in each source that tested it."""

_BATCH = 300


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _BATCH):
        yield items[i:i + _BATCH]


def read_validations(store: Store, claims: Iterable[str]) -> dict[str, list[ValidationRecord]]:
    """Every validation result of each claim, newest first (claims without one are absent)."""
    todo = list(dict.fromkeys(c for c in claims if c))
    out: dict[str, list[ValidationRecord]] = {}
    for chunk in _chunks(todo):
        rows = store.select(VALIDATIONS_QUERY.format(values=" ".join(iri_nt(c) for c in chunk)))
        results = sorted({r["r"] for r in rows if r["r"]})
        refs: dict[str, list[RefutationRecord]] = {}
        for rchunk in _chunks(results):
            for rr in store.select(REFUTATIONS_QUERY.format(values=" ".join(iri_nt(x) for x in rchunk))):
                result = rr["r"] or ""
                passed = None if rr["passed"] is None else rr["passed"] in ("true", "1")
                ref = RefutationRecord(rr["name"] or "", passed, _float(rr["p"]), _float(rr["new"]), rr["note"])
                if ref not in refs.setdefault(result, []):
                    refs[result].append(ref)
        per_source: dict[str, list[SourceEffectRecord]] = {}
        across: dict[str, dict[str, str | None]] = {}
        for rchunk in _chunks(results):
            values = " ".join(iri_nt(x) for x in rchunk)
            for rr in store.select(SOURCE_EFFECTS_QUERY.format(values=values)):
                per_source.setdefault(rr["r"] or "", []).append(SourceEffectRecord(
                    rr["src"] or "", _float(rr["effect"]), _float(rr["lo"]), _float(rr["hi"]),
                    int(float(rr["n"])) if rr["n"] else None, int(float(rr["both"])) if rr["both"] else None,
                    rr["adj"], rr["ind"] not in ("false", "0"), rr["note"]))
            for rr in store.select(ACROSS_SOURCES_QUERY.format(values=values)):
                across[rr["r"] or ""] = rr
        seen: set[tuple[str, str]] = set()
        for r in rows:
            key = (r["c"] or "", r["r"] or "")
            if key in seen:
                continue
            seen.add(key)
            out.setdefault(key[0], []).append(ValidationRecord(
                result=key[1], activity=r["run"], time=parse_time(r["t"]), verdict=mcrag_local(r["verdict"]),
                discovery=r["disc"], estimand=r["estimand"], estimator=r["estimator"], effect=_float(r["effect"]),
                ci_low=_float(r["lo"]), ci_high=_float(r["hi"]),
                sample_size=int(float(r["n"])) if r["n"] else None, dataset=r["ds"], reason=r["reason"],
                refutations=tuple(refs.get(key[1], ())), uncertainty=_float(r["unc"]),
                **_cross_source_fields(key[1], per_source, across)))
    return {c: newest_first(views) for c, views in out.items()}


def _cross_source_fields(result: str, per_source: dict[str, list[SourceEffectRecord]],
                         across: dict[str, dict[str, str | None]]) -> dict[str, Any]:
    a = across.get(result) or {}
    holds = a.get("holds")
    return {"per_source": tuple(per_source.get(result, ())), "across_sources": a.get("across"),
            "holds_across_sources": None if holds is None else holds in ("true", "1"),
            "direction_basis": a.get("basis"), "direction_detail": a.get("detail")}


def latest_validations(store: Store, claims: Iterable[str]) -> dict[str, ValidationRecord]:
    """The latest validation result of each claim that has one."""
    return {c: views[0] for c, views in read_validations(store, claims).items() if views}


# ---------------------------------------------------------------------------------------- writing
def _nn(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _dec(value: float) -> ox.Literal:
    return ox.Literal(f"{value:.6f}", datatype=_nn(XSD.decimal))


def _str(value: str) -> ox.Literal:
    return ox.Literal(value)


def _time(value: datetime) -> ox.Literal:
    return ox.Literal(value.isoformat(), datatype=_nn(XSD.dateTime))


def agent_iri(software_version: str) -> str:
    """The software agent of every run made by this version of MCRAG."""
    return str(ID[f"agent/mcrag_validate/{software_version.replace('.', '_')}"])


def run_triples(run: ValidationRunRecord) -> list[ox.Triple]:
    """The run's activity, agent, data set, and each result with its refutations, as RDF triples."""
    a = _nn(run.activity)
    agent = _nn(agent_iri(run.software_version))
    digest = run.dataset.split("sha256:", 1)[-1].split(",", 1)[0]
    ds = _nn(str(ID[f"dataset/{digest}"]))
    rdf_type, label = _nn(RDF.type), _nn(RDFS.label)
    t: list[ox.Triple] = [
        ox.Triple(a, rdf_type, _nn(MCRAG.ValidationActivity)),
        ox.Triple(a, rdf_type, _nn(PROV.Activity)),
        ox.Triple(a, label, _str(f"validation run against {run.dataset}")),
        ox.Triple(a, _nn(PROV.startedAtTime), _time(run.started)),
        ox.Triple(a, _nn(PROV.endedAtTime), _time(run.ended)),
        ox.Triple(a, _nn(PROV.wasAssociatedWith), agent),
        ox.Triple(a, _nn(PROV.used), ds),
        ox.Triple(a, _nn(RDFS.comment), _str(run.settings)),
        ox.Triple(agent, rdf_type, _nn(PROV.SoftwareAgent)),
        ox.Triple(agent, label, _str(VALIDATION_AGENT_LABEL)),
        ox.Triple(agent, _nn(DCTERMS.hasVersion), _str(run.software_version)),
        ox.Triple(ds, rdf_type, _nn(PROV.Entity)),
        ox.Triple(ds, _nn(DCTERMS.title), _str(run.dataset.split(" (sha256:", 1)[0])),
        ox.Triple(ds, _nn(DCTERMS.identifier), _str(f"sha256:{digest}")),
    ]
    for m in run.moves:
        if m.result is None:
            continue
        t.append(ox.Triple(_nn(m.claim), _nn(MCRAG.hasValidation), _nn(m.result)))
        t.append(ox.Triple(a, _nn(PROV.used), _nn(m.claim)))
    for v in run.results:
        r = _nn(v.result)
        t += [
            ox.Triple(r, rdf_type, _nn(MCRAG.ValidationResult)),
            ox.Triple(r, _nn(PROV.wasGeneratedBy), a),
            ox.Triple(r, _nn(PROV.wasDerivedFrom), ds),
            ox.Triple(r, _nn(MCRAG.verdict), _nn(MCRAG[v.verdict or "notTestable"])),
            ox.Triple(r, _nn(MCRAG.reason), _str(v.reason or "")),
            ox.Triple(r, _nn(MCRAG.dataset), _str(run.dataset)),
        ]
        if v.label:
            t.append(ox.Triple(r, label, _str(v.label)))
        if v.discovery is not None:
            t.append(ox.Triple(r, _nn(MCRAG.discovery), _str(v.discovery)))
        if v.estimand is not None:
            t.append(ox.Triple(r, _nn(MCRAG.estimand), _str(v.estimand)))
        if v.estimator is not None:
            t.append(ox.Triple(r, _nn(MCRAG.estimator), _str(v.estimator)))
        if v.sample_size is not None:
            t.append(ox.Triple(r, _nn(MCRAG.sampleSize), ox.Literal(str(v.sample_size), datatype=_nn(XSD.integer))))
        for prop, value in (("effect", v.effect), ("ciLow", v.ci_low), ("ciHigh", v.ci_high)):
            if value is not None and math.isfinite(value):
                t.append(ox.Triple(r, _nn(MCRAG[prop]), _dec(value)))
        if v.uncertainty is not None:
            t.append(ox.Triple(r, _nn(MCRAG.uncertainty), _dec(v.uncertainty)))
        t += _cross_source_triples(v, r)
        for o in v.refutations:
            rr = _nn(f"{v.result}/refuter/{o.refuter}")
            t += [ox.Triple(r, _nn(MCRAG.hasRefutation), rr),
                  ox.Triple(rr, rdf_type, _nn(MCRAG.RefutationResult)),
                  ox.Triple(rr, _nn(MCRAG.refuter), _str(o.refuter))]
            if o.passed is not None:
                t.append(ox.Triple(rr, _nn(MCRAG.passed),
                                   ox.Literal("true" if o.passed else "false", datatype=_nn(XSD.boolean))))
            if o.p_value is not None:
                t.append(ox.Triple(rr, _nn(MCRAG.pValue), _dec(o.p_value)))
            if o.new_effect is not None:
                t.append(ox.Triple(rr, _nn(MCRAG.newEffect), _dec(o.new_effect)))
            if o.note:
                t.append(ox.Triple(rr, _nn(RDFS.comment), _str(o.note)))
    return t


def _cross_source_triples(v: ValidationRecord, r: ox.NamedNode) -> list[ox.Triple]:
    """Per-source effects and the across-sources verdict, direction and invariance of a cross-source result."""
    t: list[ox.Triple] = []
    if v.across_sources is not None:
        t.append(ox.Triple(r, _nn(MCRAG.acrossSources), _str(v.across_sources)))
    if v.holds_across_sources is not None:
        t.append(ox.Triple(r, _nn(MCRAG.holdsAcrossSources),
                           ox.Literal("true" if v.holds_across_sources else "false", datatype=_nn(XSD.boolean))))
    if v.direction_basis is not None:
        t.append(ox.Triple(r, _nn(MCRAG.directionBasis), _str(v.direction_basis)))
    if v.direction_detail:
        t.append(ox.Triple(r, _nn(MCRAG.directionDetail), _str(v.direction_detail)))
    for src in v.estimated_on:
        t.append(ox.Triple(r, _nn(MCRAG.estimatedOn), _str(src)))
    for p in v.per_source:
        x = _nn(f"{v.result}/source/{p.source}")
        t += [ox.Triple(r, _nn(MCRAG.sourceEffect), x), ox.Triple(x, _nn(RDF.type), _nn(MCRAG.SourceEffect)),
              ox.Triple(x, _nn(MCRAG.source), _str(p.source)),
              ox.Triple(x, _nn(MCRAG.independent),
                        ox.Literal("true" if p.independent else "false", datatype=_nn(XSD.boolean)))]
        for prop, value in (("effect", p.effect), ("ciLow", p.ci_low), ("ciHigh", p.ci_high)):
            if value is not None and math.isfinite(value):
                t.append(ox.Triple(x, _nn(MCRAG[prop]), _dec(value)))
        for prop, count in (("sampleSize", p.sample_size), ("coOccurrences", p.co_occurrences)):
            if count is not None:
                t.append(ox.Triple(x, _nn(MCRAG[prop]), ox.Literal(str(count), datatype=_nn(XSD.integer))))
        if p.adjusted_for is not None:
            t.append(ox.Triple(x, _nn(MCRAG.adjustedFor), _str(p.adjusted_for)))
        if p.note:
            t.append(ox.Triple(x, _nn(RDFS.comment), _str(p.note)))
    return t


def move_activity_iri(run_activity: str, claim: str) -> str:
    """The revision a run writes for a claim whose status it moves."""
    return f"{run_activity}/status/{claim.rsplit('/', 1)[-1]}"


def _move_operations(run: ValidationRunRecord, graph: str) -> list[str]:
    """One guarded operation per claim: bump its version and, for a status move, write the revision.

    Each is guarded by the status and version the run read, so a claim a curator changed meanwhile
    keeps the curator's change (its result is still attached).
    """
    ops = []
    agent = agent_iri(run.software_version)
    for m in run.moves:
        if m.result is None:
            continue
        c = iri_nt(m.claim)
        to_version = m.version + 1
        guard = (f"GRAPH ?g {{ {c} a mcrag:CausalClaim ; mcrag:status {status_nt(m.previous_status)} }}\n"
                 f"  OPTIONAL {{ GRAPH ?g {{ {c} mcrag:version ?v }} }}\n"
                 f"  FILTER (COALESCE(?v, 1) = {m.version})")
        if m.new_status == m.previous_status:
            ops.append(f"""DELETE {{ GRAPH ?g {{ {c} mcrag:version ?v }} }}
INSERT {{ GRAPH ?g {{ {c} mcrag:version {literal_nt(to_version)} }} }}
WHERE {{ {guard} }}""")
            continue
        prov = revision_statements(
            activity=move_activity_iri(run.activity, m.claim), claim=m.claim, action="validate", agent=agent,
            agent_label=VALIDATION_AGENT_LABEL, agent_class="prov:SoftwareAgent", reason=m.reason or m.new_status,
            when=run.ended, previous_status=m.previous_status, new_status=m.new_status, from_version=m.version,
            to_version=to_version, changes=[FieldChange("status", status_nt(m.previous_status),
                                                        status_nt(m.new_status))],
            informed_by=run.activity)
        nl = "\n    "
        ops.append(f"""DELETE {{ GRAPH ?g {{ {c} mcrag:status {status_nt(m.previous_status)} . {c} mcrag:version ?v }} }}
INSERT {{ GRAPH ?g {{ {c} mcrag:status {status_nt(m.new_status)} . {c} mcrag:version {literal_nt(to_version)} }}
  GRAPH {iri_nt(graph)} {{
    {nl.join(prov)} }} }}
WHERE {{ {guard} }}""")
    return ops


def validation_update(run: ValidationRunRecord, graph: str = NAMED_GRAPHS["validation"]) -> str:
    """One SPARQL update that moves statuses, bumps versions, records the moves and inserts the results."""
    body = (ox.serialize(run_triples(run), format=ox.RdfFormat.N_TRIPLES) or b"").decode("utf-8")
    ops = [*_move_operations(run, graph), f"INSERT DATA {{ GRAPH <{graph}> {{\n{body}}} }}"]
    return " ;\n".join(ops)


def write_run(store: Store, run: ValidationRunRecord, graph: str = NAMED_GRAPHS["validation"]) -> None:
    """Write a run as one transaction: all of it, or (when the write fails) nothing."""
    store.update(validation_update(run, graph))


def moved_claims(store: Store, run_activity: str) -> dict[str, str]:
    """Claim -> the revision through which a run moved its status."""
    rows = store.select(f"""SELECT ?c ?a WHERE {{ ?a a mcrag:CurationActivity ; mcrag:action "validate" ;
        prov:wasInformedBy {iri_nt(run_activity)} ; prov:used ?c }}""")
    return {r["c"]: r["a"] for r in rows if r["c"] and r["a"]}

