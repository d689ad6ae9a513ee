"""Cross-source verdicts in the store: per-source effects on every result, no circular validation, an edge and
its reverse never both validated, undo of the run, proposals in their own graph, and the README query."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kg import curation
from kg.claim_reader import read_claims
from kg.claims import CausalClaim, SourceSpan, write_claims
from kg.concepts import concept_for_finding
from kg.namespaces import NAMED_GRAPHS
from kg.ontology import bootstrap
from kg.validations import VALIDATED_EDGES_BY_SOURCE_QUERY, latest_validations
from reasoning.graph_learning import LearnSettings, learn_graph
from tests.test_cross_source import matrix

C = "https://w3id.org/mcrag/concept/"


def _copd_bulla(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed + 100)
    copd = rng.random(n) < 0.15
    return {"copd": copd.astype(int), "bulla": (rng.random(n) < 0.03 + 0.4 * copd).astype(int)}


def sources(names: tuple[str, ...] = ("iu_xray", "nih", "padchest"), n: int = 5000) -> dict[str, pd.DataFrame]:
    return {s: matrix(s, n, seed=i + 1, extra=_copd_bulla(n, i)) for i, s in enumerate(names)}


def _report_claim(cause: str, effect: str) -> CausalClaim:
    return CausalClaim(concept_for_finding(cause), concept_for_finding(effect),
                       span=SourceSpan("CXR1", "atelectasis due to the effusion", 0, 31, "iu_xray"),
                       extractor="mcrag-report-miner")


@pytest.fixture()
def store(memory_store):  # type: ignore[no-untyped-def]
    bootstrap(memory_store)
    return memory_store


def _by_edge(store, cause: str, effect: str, graph: str):  # type: ignore[no-untyped-def]
    return next(c for c in read_claims(store) if c.subject == C + cause and c.object == C + effect and c.graph == graph)


def test_verdicts_carry_per_source_effects_and_report_claims_skip_their_own_source(store) -> None:  # type: ignore[no-untyped-def]
    write_claims(store, [_report_claim("heart_failure", "Effusion")], NAMED_GRAPHS["reports"])
    run = learn_graph(store, sources(("iu_xray", "nih")), settings=LearnSettings(propose=False))
    assert run.written
    starter = _by_edge(store, "heart_failure", "pleural_effusion", NAMED_GRAPHS["starter"])
    report = _by_edge(store, "heart_failure", "pleural_effusion", NAMED_GRAPHS["reports"])
    assert starter.status == "accepted"  # a curator's decision stays; the verdict is attached
    latest = latest_validations(store, [starter.claim, report.claim])
    s, r = latest[starter.claim], latest[report.claim]
    assert s.verdict == "validated" and s.across_sources == "validated" and set(s.estimated_on) == {"iu_xray", "nih"}
    assert s.holds_across_sources is not None and s.direction_basis == "tiers"
    for p in s.per_source:
        assert p.effect is not None and p.ci_low < p.effect < p.ci_high and p.sample_size and p.co_occurrences
        assert "age" in (p.adjusted_for or "")
    # the report claim was mined from iu_xray: only nih may test it, and one source is not enough
    assert r.verdict == "notTestable" and r.estimated_on == ("nih",)
    iu = next(p for p in r.per_source if p.source == "iu_xray")
    assert iu.independent is False and "produced the claim" in (iu.note or "")
    assert report.status == "notTestable" and report.version == 2


def test_report_claim_validated_on_the_other_sources_and_the_run_undone(store) -> None:  # type: ignore[no-untyped-def]
    write_claims(store, [_report_claim("heart_failure", "Effusion")], NAMED_GRAPHS["reports"])
    run = learn_graph(store, sources(), settings=LearnSettings(propose=False))
    report = _by_edge(store, "heart_failure", "pleural_effusion", NAMED_GRAPHS["reports"])
    assert report.status == "validated" and report.version == 2
    assert set(latest_validations(store, [report.claim])[report.claim].estimated_on) == {"nih", "padchest"}
    undone = curation.undo_run(store, run.activity, "ana", "re-run later")
    assert [u.claim for u in undone.undone] == [report.claim]
    assert _by_edge(store, "heart_failure", "pleural_effusion", NAMED_GRAPHS["reports"]).status == "proposed"


def test_an_edge_and_its_reverse_are_never_both_validated(store) -> None:  # type: ignore[no-untyped-def]
    write_claims(store, [_report_claim("Atelectasis", "Effusion")], NAMED_GRAPHS["literature"])
    run = learn_graph(store, sources(), settings=LearnSettings(propose=False))
    verdicts = {(o.cause, o.effect): o.verdict for o in run.claims if o.verdict}
    assert not (verdicts.get(("pleural_effusion", "atelectasis")) == "validated"
                and verdicts.get(("atelectasis", "pleural_effusion")) == "validated")
    reverse = next(o for o in run.claims if (o.cause, o.effect) == ("atelectasis", "pleural_effusion"))
    assert reverse.verdict != "validated" and reverse.reason


def test_unmeasured_claims_are_left_alone_and_proposals_go_to_their_own_graph(store) -> None:  # type: ignore[no-untyped-def]
    run = learn_graph(store, sources())
    smoking = [o for o in run.claims if o.cause == "tobacco_smoking"]
    assert smoking and all(o.verdict is None and o.result is None for o in smoking)  # no source records smoking
    proposed = read_claims(store, graphs=[NAMED_GRAPHS["proposals"]])
    assert (C + "copd", C + "bulla") in {(c.subject, c.object) for c in proposed}
    assert all(c.status == "proposed" for c in proposed)
    copd = next(c for c in proposed if c.subject == C + "copd")
    rows = store.select(f"""SELECT ?m ?p ?src ?e WHERE {{ <{copd.claim}> mcrag:method ?m ; mcrag:parameters ?p ;
        mcrag:estimatedOn ?src ; mcrag:effect ?e }}""")
    assert {r["src"] for r in rows} == {"iu_xray", "nih", "padchest"} and float(rows[0]["e"] or 0) > 0.2
    n = store.count(NAMED_GRAPHS["proposals"])
    again = learn_graph(store, sources())
    assert again.proposals_written is None or again.proposals_written.written == 0  # an edge stated is not re-proposed
    assert store.count(NAMED_GRAPHS["proposals"]) == n
    # data-proposed claims are not re-tested on the data that proposed them
    assert all(o.verdict is None for o in again.claims if o.claim == copd.claim)


def test_the_readme_query_lists_validated_edges_with_their_sources(store) -> None:  # type: ignore[no-untyped-def]
    learn_graph(store, sources(), settings=LearnSettings(propose=False))
    rows = store.select(VALIDATED_EDGES_BY_SOURCE_QUERY)
    edges = {(r["cause"], r["effect"]) for r in rows}
    assert ("heart failure", "pleural effusion") in edges
    srcs = {r["source"] for r in rows if (r["cause"], r["effect"]) == ("heart failure", "pleural effusion")}
    assert srcs == {"iu_xray", "nih", "padchest"}
    assert all(r["effectSize"] and r["ciLow"] and r["n"] and r["adjustedFor"] for r in rows)


def test_the_query_in_the_readme_is_the_one_tested() -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sparql\n(.*?)```", readme, flags=re.S)
    assert any(" ".join(b.split()) == " ".join(VALIDATED_EDGES_BY_SOURCE_QUERY.split()) for b in blocks)
