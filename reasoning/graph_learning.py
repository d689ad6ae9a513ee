"""Learn and validate the chest graph across label sources, and write the verdicts into the store.

One run reads the source matrices (``reasoning.sources``: one Parquet file per source), runs causal
discovery pooled and per source (``reasoning.source_discovery``), and judges every claim of the store
whose cause and effect are concepts of the table with the cross-source rule
(``reasoning.cross_source``): an edge is ``validated`` where its adjusted effect has the claimed sign
with an interval excluding 0 in at least two sources that did not produce the claim; ``refuted``
where two go the other way; ``mixed`` (stored as not testable) where sources disagree. No validation
is circular: a claim mined from the IU-Xray reports is tested on the other four sources only, and
data-proposed claims are not re-tested on the data that proposed them.

Each result records, for every source, the effect, its interval, n, the co-occurrences and the
adjustment set, whether the edge holds across sources and how its direction was decided; the run is a
``mcrag:ValidationActivity`` written through ``kg.validations`` in one update, and each status it moves
is a revision that ``mcrag curate undo-run`` reverts. Claims the data cannot measure (no source
records both concepts) keep their status and get no result. Edges the pooled data propose that no
claim states go, as claims with status ``proposed``, into the ``proposals`` graph (``kg.proposals``).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from kg.claim_reader import concept_notations, read_claims
from kg.claims import ClaimRecord
from kg.concepts import ConceptTable, as_concept, default_table
from kg.namespaces import CONCEPT, ID, NAMED_GRAPHS
from kg.proposals import ProposalWrite, ProposedEdge, write_proposals
from kg.statuses import CURATOR_DECISIONS
from kg.store.base import Store
from kg.validations import SourceEffectRecord, ValidationRecord, ValidationRunRecord, VerdictMove, write_run
from reasoning.cross_source import (
    CandidateEdge,
    CrossSourceSettings,
    CrossSourceVerdict,
    NoEstimate,
    SourceEffect,
    SourceResult,
    build_designs,
    validate_edges,
)
from reasoning.edge_proposals import ProposalRun, propose_edges
from reasoning.graph import EXPECTED_SIGN
from reasoning.source_discovery import DiscoverySettings, DiscoverySummary, discover_sources
from reasoning.source_frames import SourceFrame, source_frame
from reasoning.uncertainty import verdict_uncertainty

PRODUCERS: Mapping[str, frozenset[str]] = {NAMED_GRAPHS["reports"]: frozenset({"iu_xray"})}
"""Named graph -> the sources its claims were mined from (those sources cannot test them)."""

NOT_RETESTED: frozenset[str] = frozenset({NAMED_GRAPHS["proposals"]})
"""Graphs whose claims came from these very sources: re-testing them would be circular."""

ESTIMATOR = "backdoor.linear_regression per source (risk difference, HC1 interval); inverse-variance pooled"


@dataclass(frozen=True)
class LearnSettings:
    """What one run reads and how it judges; every field is a ``mcrag graph learn`` option."""

    sample: int | None = None
    """Studies kept per source (a uniform sample with ``seed``); None keeps every study."""
    seed: int = 0
    estimation: CrossSourceSettings = field(default_factory=CrossSourceSettings)
    discovery: DiscoverySettings | None = field(default_factory=DiscoverySettings)
    """None: no discovery (same-tier directions then rest on invariance alone)."""
    per_source_discovery: bool = True
    propose: bool = True


@dataclass(frozen=True)
class ClaimTest:
    """A stored claim as the run sees it: its table concepts, who produced it, or why it is left alone."""

    claim: ClaimRecord
    cause: str | None
    effect: str | None
    produced_by: frozenset[str] = frozenset()
    left_alone: str | None = None


@dataclass(frozen=True)
class ClaimOutcome:
    claim: str
    cause: str | None
    effect: str | None
    verdict: str | None
    """validated / refuted / mixed / notTestable; None when the run left the claim alone."""
    reason: str
    previous_status: str
    new_status: str
    result: str | None


@dataclass(frozen=True)
class LearnRun:
    """One run: the data, the verdicts per edge and per claim, the proposals, and what was written."""

    activity: str
    dataset: str
    sources: Mapping[str, int]
    """Source -> studies used."""
    settings: LearnSettings
    started: datetime
    ended: datetime
    verdicts: tuple[CrossSourceVerdict, ...]
    claims: tuple[ClaimOutcome, ...]
    results: tuple[ValidationRecord, ...]
    proposals: ProposalRun | None = None
    discovery: DiscoverySummary | None = None
    written: bool = False
    proposals_written: ProposalWrite | None = None
    seconds: Mapping[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out = {"validated": 0, "refuted": 0, "mixed": 0, "notTestable": 0, "left alone": 0}
        for c in self.claims:
            out[c.verdict or "left alone"] += 1
        return out


# ---------------------------------------------------------------------------------------- data
def load_frames(paths: Mapping[str, str | Path | pd.DataFrame], table: ConceptTable, *, sample: int | None = None,
                seed: int = 0) -> dict[str, SourceFrame]:
    """Source -> analysis frame from Parquet matrices; with ``sample``, a uniform sample of studies (fixed seed)."""
    out = {}
    for name, m in paths.items():
        frame = m if isinstance(m, pd.DataFrame) else pd.read_parquet(m)
        if sample is not None and len(frame) > sample:
            frame = frame.sample(n=sample, random_state=seed).sort_index()
        out[name] = source_frame(frame.reset_index(drop=True), table, name)
    return out


def dataset_label(paths: Mapping[str, str | Path | pd.DataFrame], frames: Mapping[str, SourceFrame],
                  sample: int | None, seed: int) -> str:
    """``cxr_labels [padchest, nih, ...] (sha256:<digest>, N studies)``: what ``mcrag:dataset`` says."""
    h = hashlib.sha256()
    for name in sorted(paths):
        m = paths[name]
        h.update(name.encode())
        if isinstance(m, pd.DataFrame):
            h.update(pd.util.hash_pandas_object(m, index=False).to_numpy().tobytes())
        else:
            with open(m, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    h.update(f"sample={sample};seed={seed}".encode())
    n = sum(f.rows for f in frames.values())
    how = f", a sample of {sample} studies per source (seed {seed})" if sample is not None else ""
    return f"cxr_labels [{', '.join(frames)}] (sha256:{h.hexdigest()}, {n} studies{how})"


# ---------------------------------------------------------------------------------------- claims
def table_concept(iri: str, notations: Sequence[str], table: ConceptTable) -> str | None:
    """The table concept a stored concept is: its own IRI, else one of its exact external ids."""
    if iri.startswith(str(CONCEPT)) and iri[len(str(CONCEPT)):] in table:
        return iri[len(str(CONCEPT)):]
    for n in notations:
        c = table.by_curie(n)
        if c is not None:
            return c.id
    return None


def claims_to_test(store: Store, table: ConceptTable) -> list[ClaimTest]:
    """Every stored claim with its table concepts and producers, or the reason the run leaves it alone."""
    claims = read_claims(store)
    notes = concept_notations(store, {c.subject for c in claims} | {c.object for c in claims})
    out = []
    for c in claims:
        cause = table_concept(c.subject, notes.get(c.subject, ()), table)
        effect = table_concept(c.object, notes.get(c.object, ()), table)
        why = None
        if c.graph in NOT_RETESTED:
            why = "proposed from these very sources: re-testing it on them would be circular"
        elif cause is None or effect is None:
            missing = [lab for iri, lab, t in ((c.subject, c.subject_label, cause), (c.object, c.object_label, effect))
                       if t is None]
            why = f"{' and '.join(missing)} is not a concept of the chest concept table"
        elif cause == effect:
            why = "cause and effect are one concept of the table"
        elif c.polarity != "positive":
            why = "a negated claim: the cross-source rule tests the presence of an effect"
        out.append(ClaimTest(c, cause, effect, PRODUCERS.get(c.graph, frozenset()), why))
    return out


# ---------------------------------------------------------------------------------------- records
def source_records(results: Sequence[SourceResult], produced_by: frozenset[str]) -> tuple[SourceEffectRecord, ...]:
    out = []
    for r in results:
        independent = r.source not in produced_by
        if isinstance(r, SourceEffect):
            out.append(SourceEffectRecord(r.source, r.value, r.ci_low, r.ci_high, r.n, r.support.both,
                                          ", ".join(r.adjusted_for) or "nothing", independent,
                                          None if independent else "produced the claim: shown, not counted"))
        else:
            note = r.reason if independent else f"produced the claim, so it cannot test it; {r.reason}"
            out.append(SourceEffectRecord(r.source, None, None, None, r.support.n if r.support else None,
                                          r.support.both if r.support else None, None, independent, note))
    return tuple(out)


def holds_across(v: CrossSourceVerdict, settings: CrossSourceSettings) -> bool:
    """Two or more independent effects, none excluding 0 against the others, and no heterogeneity (Q test)."""
    effects = [e for e in v.effects().values() if e.source not in v.edge.produced_by]
    return (len(effects) >= 2 and not (v.supporting and v.opposing) and v.pooled is not None
            and v.pooled.q_p_value > settings.invariance_alpha)


def _measured(v: CrossSourceVerdict) -> bool:
    """Whether any independent source records both concepts (else the run says nothing about the edge)."""
    return any(not (isinstance(r, NoEstimate) and r.kind == "no_column")
               for r in v.per_source if r.source not in v.edge.produced_by)


def _status(verdict: str) -> str:
    return "notTestable" if verdict == "mixed" else verdict


def result_record(v: CrossSourceVerdict, result: str, activity: str, ended: datetime, dataset: str,
                  settings: CrossSourceSettings, labels: Mapping[str, str]) -> ValidationRecord:
    indep = [e for e in v.effects().values() if e.source not in v.edge.produced_by]
    pooled = v.pooled
    estimand = indep[0].estimand if indep else f"backdoor: E[{v.edge.effect} | do({v.edge.cause})]"
    unc = verdict_uncertainty(_status(v.verdict), effect=pooled.value if pooled else None,
                              ci_low=pooled.ci_low if pooled else None, ci_high=pooled.ci_high if pooled else None,
                              margin=0.0, reason=v.reason)
    if v.verdict == "mixed":
        unc = max(unc, 0.8)
    return ValidationRecord(
        result=result, activity=activity, time=ended, verdict=_status(v.verdict), discovery=None,
        estimand=estimand, estimator=ESTIMATOR, effect=pooled.value if pooled else None,
        ci_low=pooled.ci_low if pooled else None, ci_high=pooled.ci_high if pooled else None,
        sample_size=sum(e.n for e in indep) if indep else None, dataset=dataset,
        reason=("mixed: " if v.verdict == "mixed" else "") + v.reason, uncertainty=unc,
        label=f"{labels.get(v.edge.cause, v.edge.cause)} -> {labels.get(v.edge.effect, v.edge.effect)}: "
              f"{v.verdict} across sources",
        per_source=source_records(v.per_source, v.edge.produced_by), across_sources=v.verdict,
        holds_across_sources=holds_across(v, settings), direction_basis=v.direction.basis,
        direction_detail=v.direction.detail)


# ---------------------------------------------------------------------------------------- the run
def learn_graph(store: Store, matrices: Mapping[str, str | Path | pd.DataFrame], *, table: ConceptTable | None = None,
                settings: LearnSettings | None = None, write: bool = True, run_id: str | None = None,
                frames: Mapping[str, SourceFrame] | None = None,
                discovery: DiscoverySummary | None = None) -> LearnRun:
    """Discovery, cross-source verdicts on every stored claim, and proposals; written unless ``write`` is False.

    ``frames`` and ``discovery`` computed before on the same matrices (a benchmark's) are reused as they are.
    """
    settings = settings or LearnSettings()
    table = table or default_table()
    started = datetime.now(UTC)
    run_id = run_id or f"{started.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"
    activity = str(ID[f"activity/validate/{run_id}"])
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    if frames is None:
        frames = load_frames(matrices, table, sample=settings.sample, seed=settings.seed)
    dataset = dataset_label(matrices, frames, settings.sample, settings.seed)
    timing["frames"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if discovery is None and settings.discovery is not None:
        discovery = discover_sources(frames, table, settings.discovery, per_source=settings.per_source_discovery)
    timing["discovery"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    est = settings.estimation
    designs = build_designs(frames, est)
    tests = claims_to_test(store, table)
    edges: dict[tuple[str, str, int, frozenset[str]], CandidateEdge] = {}
    for t in tests:
        if t.left_alone is None and t.cause and t.effect and not table.definitional(t.cause, t.effect):
            sign = EXPECTED_SIGN.get(t.claim.relation, 1)
            key = (t.cause, t.effect, sign, t.produced_by)
            edges.setdefault(key, CandidateEdge(t.cause, t.effect, t.produced_by, sign, t.claim.claim))
    run = validate_edges(frames, list(edges.values()), table, settings=est, discovery=discovery, designs=designs)
    by_key = dict(zip(edges, run.verdicts, strict=True))
    timing["validation"] = time.perf_counter() - t0
    ended = datetime.now(UTC)
    labels = {c.id: c.label for c in table}
    results: dict[str, ValidationRecord] = {}
    outcomes: list[ClaimOutcome] = []
    moves: list[VerdictMove] = []
    for t in tests:
        c = t.claim
        if t.left_alone is None and t.cause and t.effect and table.definitional(t.cause, t.effect):
            t = replace(t, left_alone="one concept is a kind of the other: a definitional, not a causal, dependence")
        if t.left_alone is not None or not t.cause or not t.effect:
            outcomes.append(ClaimOutcome(c.claim, t.cause, t.effect, None, t.left_alone or "", c.status, c.status, None))
            continue
        key = (t.cause, t.effect, EXPECTED_SIGN.get(c.relation, 1), t.produced_by)
        v = by_key[key]
        if not _measured(v):
            outcomes.append(ClaimOutcome(c.claim, t.cause, t.effect, None,
                                         "no independent source records both concepts", c.status, c.status, None))
            continue
        digest = hashlib.sha1("|".join([t.cause, t.effect, str(key[2]), ",".join(sorted(t.produced_by))])
                              .encode()).hexdigest()[:16]
        result = str(ID[f"validation/{run_id}/{digest}"])
        if result not in results:
            results[result] = result_record(v, result, activity, ended, dataset, est, labels)
        new_status = c.status if c.status in CURATOR_DECISIONS else _status(v.verdict)
        outcomes.append(ClaimOutcome(c.claim, t.cause, t.effect, v.verdict, v.reason, c.status, new_status, result))
        moves.append(VerdictMove(c.claim, result, c.status, new_status, c.version, v.reason))
    proposals = None
    if settings.propose:
        t0 = time.perf_counter()
        stated = {(t.cause, t.effect) for t in tests if t.cause and t.effect}
        proposals = propose_edges(frames, table, settings=est, discovery=discovery, designs=designs,
                                  exclude=stated) if discovery is not None else None
        timing["proposals"] = time.perf_counter() - t0
    out = LearnRun(activity, dataset, {s: f.rows for s, f in frames.items()}, settings, started, ended,
                   run.verdicts, tuple(outcomes), tuple(results.values()), proposals, discovery,
                   seconds={k: round(v, 2) for k, v in timing.items()})
    if not write:
        return out
    written = False
    if results:
        write_run(store, ValidationRunRecord(activity, dataset, started, ended, _settings_text(settings), _version(),
                                             tuple(results.values()), tuple(moves)))
        written = True
    pw = None
    if proposals is not None and proposals.proposals:
        pw = write_proposals(store, [proposed_edge(p, table, dataset) for p in proposals.proposals])
    return replace(out, written=written, proposals_written=pw)


def proposed_edge(p: object, table: ConceptTable, dataset: str) -> ProposedEdge:
    """A :class:`reasoning.edge_proposals.EdgeProposal` as the store keeps it."""
    from reasoning.edge_proposals import EdgeProposal

    assert isinstance(p, EdgeProposal)
    return ProposedEdge(as_concept(table[p.cause]), as_concept(table[p.effect]), dataset, p.method,
                        dict(p.parameters), p.sources, p.pooled.value, p.pooled.ci_low, p.pooled.ci_high,
                        source_records(p.per_source, frozenset()), p.direction.basis)


def _settings_text(s: LearnSettings) -> str:
    d = "none" if s.discovery is None else ", ".join(f"{k}={v}" for k, v in asdict(s.discovery).items())
    e = ", ".join(f"{k}={v}" for k, v in asdict(s.estimation).items())
    sample = "all studies" if s.sample is None else f"{s.sample} studies per source, seed {s.seed}"
    return f"cross-source validation; data: {sample}; discovery: {d}; estimation: {e}"


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("mcrag")
    except Exception:
        return "0"


__all__ = ["ClaimOutcome", "ClaimTest", "LearnRun", "LearnSettings", "claims_to_test", "learn_graph", "load_frames"]
