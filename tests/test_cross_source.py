"""Cross-source estimation, the verdict rule, direction and support, discovery with the source as context."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kg.concepts import load_concept_table
from reasoning.cross_source import (
    CandidateEdge,
    CrossSourceSettings,
    NoEstimate,
    SourceDesign,
    SourceEffect,
    build_designs,
    dowhy_check,
    estimate_in_source,
    validate_edges,
)
from reasoning.edge_proposals import propose_edges
from reasoning.source_discovery import (
    CONTEXT,
    DiscoverySettings,
    PooledCITest,
    discover_sources,
    source_statistics,
)
from reasoning.source_frames import SourceFrame, source_frame

TABLE = load_concept_table()


def matrix(source: str, n: int, seed: int, *, p_hf: float = 0.1, hf_effusion: float = 0.3,
           p_eff0: float = 0.1, eff_atel: float = 0.3, p_atel0: float = 0.1, p_ptx: float = 0.0,
           extra: dict[str, np.ndarray] | None = None, age: bool = True) -> pd.DataFrame:
    """A source in the import layout: heart failure -> effusion -> atelectasis, older patients sicker."""
    rng = np.random.default_rng(seed)
    ages = rng.integers(20, 90, n).astype(float)
    old = (ages > 60).astype(float)
    hf = rng.random(n) < np.clip(p_hf + 0.1 * old, 0, 1)
    eff = rng.random(n) < np.clip(p_eff0 + hf_effusion * hf + 0.05 * old, 0, 1)
    atel = rng.random(n) < np.clip(p_atel0 + eff_atel * eff, 0, 1)
    card = rng.random(n) < 0.2
    frame = pd.DataFrame({
        "study_id": [f"{source}{i}" for i in range(n)], "patient_id": [f"p{i}" for i in range(n)], "source": source,
        "view": np.where(rng.random(n) < 0.3, "AP", "PA"), "age": ages if age else np.nan,
        "sex": np.where(rng.random(n) < 0.5, "F", "M"), "device_maker": pd.NA, "label_method": "model",
        "n_images": 1,
        "heart_failure": hf.astype(int), "pleural_effusion": eff.astype(int), "atelectasis": atel.astype(int),
        "cardiomegaly": card.astype(int),
        "pneumothorax": (rng.random(n) < p_ptx).astype(int),
    })
    for k, v in (extra or {}).items():
        frame[k] = v
    for c in frame.columns[9:]:
        frame[c] = frame[c].astype("Int8")
    return frame


def frames(**specs: dict) -> dict[str, SourceFrame]:
    return {name: source_frame(matrix(name, **spec), TABLE, name) for name, spec in specs.items()}


THREE = dict(a={"n": 6000, "seed": 1}, b={"n": 6000, "seed": 2}, c={"n": 6000, "seed": 3})


def test_fast_estimate_equals_dowhy_estimator() -> None:
    fr = frames(a={"n": 4000, "seed": 7})
    st = CrossSourceSettings()
    design = SourceDesign(fr["a"], st)
    est = estimate_in_source(design, "pleural_effusion", "atelectasis", TABLE, st)
    assert isinstance(est, SourceEffect)
    value, lo, hi = dowhy_check(design, "pleural_effusion", "atelectasis", TABLE, st)
    assert est.value == pytest.approx(value, abs=1e-9)
    assert (est.ci_low, est.ci_high) == pytest.approx((lo, hi), abs=1e-9)
    assert est.value == pytest.approx(0.3, abs=0.04)  # the simulated risk difference
    assert "age" in est.adjusted_for and "heart_failure" in est.adjusted_for  # earlier tier adjusted
    assert "cardiomegaly" not in est.adjusted_for  # same tier as the cause: not a known confounder


def test_validated_in_three_sources_with_direction_by_tiers() -> None:
    run = validate_edges(frames(**THREE), [CandidateEdge("heart_failure", "pleural_effusion")], TABLE)
    v = run.verdicts[0]
    assert v.verdict == "validated", v.reason
    assert set(v.supporting) == {"a", "b", "c"} and v.direction.basis == "tiers"
    assert v.pooled is not None and v.pooled.value == pytest.approx(0.3, abs=0.03)


def test_producing_sources_do_not_count() -> None:
    edge = CandidateEdge("heart_failure", "pleural_effusion", produced_by=frozenset({"a", "b"}))
    v = validate_edges(frames(**THREE), [edge], TABLE).verdicts[0]
    assert v.verdict == "notTestable"
    assert "fewer than 2 independent sources" in v.reason and "a, b produced the claim" in v.reason


def test_refuted_when_two_sources_show_the_opposite_sign() -> None:
    fr = frames(a={"n": 6000, "seed": 1, "hf_effusion": -0.08, "p_eff0": 0.3},
                b={"n": 6000, "seed": 2, "hf_effusion": -0.08, "p_eff0": 0.3})
    v = validate_edges(fr, [CandidateEdge("heart_failure", "pleural_effusion")], TABLE).verdicts[0]
    assert v.verdict == "refuted" and set(v.opposing) == {"a", "b"}, v.reason


def test_mixed_when_sources_disagree() -> None:
    fr = frames(a={"n": 6000, "seed": 1}, b={"n": 6000, "seed": 2, "hf_effusion": -0.08, "p_eff0": 0.3})
    v = validate_edges(fr, [CandidateEdge("heart_failure", "pleural_effusion")], TABLE).verdicts[0]
    assert v.verdict == "mixed" and v.supporting == ("a",) and v.opposing == ("b",)


def test_one_source_is_not_enough() -> None:
    v = validate_edges(frames(a={"n": 6000, "seed": 1}), [CandidateEdge("heart_failure", "pleural_effusion")],
                       TABLE).verdicts[0]
    assert v.verdict == "notTestable" and "supported only in a" in v.reason


def test_reverse_against_the_tiers_is_refuted_never_validated() -> None:
    edges = [CandidateEdge("heart_failure", "pleural_effusion"), CandidateEdge("pleural_effusion", "heart_failure")]
    run = validate_edges(frames(**THREE), edges, TABLE)
    assert run.verdict("heart_failure", "pleural_effusion").verdict == "validated"
    back = run.verdict("pleural_effusion", "heart_failure")
    assert back.verdict == "refuted" and "decided by tiers" in back.reason


def test_same_tier_pair_and_reverse_are_never_both_validated() -> None:
    edges = [CandidateEdge("pleural_effusion", "atelectasis"), CandidateEdge("atelectasis", "pleural_effusion")]
    run = validate_edges(frames(**THREE), edges, TABLE)  # no discovery; same base rates: invariance cannot tell
    verdicts = {v.edge.pair: v for v in run.verdicts}
    assert [v.verdict for v in verdicts.values()].count("validated") <= 1
    for v in verdicts.values():
        if v.verdict != "validated":
            assert "direction" in v.reason or "decides" in v.reason, v.reason


def test_invariance_decides_direction_when_the_cause_shifts_between_sources() -> None:
    # P(atelectasis | effusion) is the same everywhere; how common effusion is differs by source.
    fr = frames(a={"n": 20000, "seed": 1, "p_eff0": 0.05}, b={"n": 20000, "seed": 2, "p_eff0": 0.3},
                c={"n": 20000, "seed": 3, "p_eff0": 0.6})
    edges = [CandidateEdge("pleural_effusion", "atelectasis"), CandidateEdge("atelectasis", "pleural_effusion")]
    run = validate_edges(fr, edges, TABLE)
    fwd, back = run.verdict("pleural_effusion", "atelectasis"), run.verdict("atelectasis", "pleural_effusion")
    assert fwd.verdict == "validated" and fwd.direction.basis == "invariance", fwd.reason
    assert back.verdict == "notTestable" and "decided by invariance" in back.reason


def test_discovery_with_source_as_context_orients_a_same_tier_edge() -> None:
    fr = frames(a={"n": 20000, "seed": 1, "p_eff0": 0.05}, b={"n": 20000, "seed": 2, "p_eff0": 0.3},
                c={"n": 20000, "seed": 3, "p_eff0": 0.6})
    summary = discover_sources(fr, TABLE, DiscoverySettings(alpha=1e-3, min_effect=0.02))
    assert CONTEXT in summary.pooled.variables
    chosen, detail = summary.orientation("pleural_effusion", "atelectasis")
    assert chosen == ("pleural_effusion", "atelectasis"), detail
    assert summary.pooled.edge("cardiomegaly", "atelectasis") is None  # independent by construction
    run = validate_edges(fr, [CandidateEdge("atelectasis", "pleural_effusion")], TABLE, discovery=summary)
    assert run.verdicts[0].verdict == "notTestable" and "decided by discovery" in run.verdicts[0].reason


def test_no_effect_below_minimum_support() -> None:
    # emphysema is rare and never co-occurs with pneumothorax: no effect may be reported from that
    n = 6000
    rng = np.random.default_rng(5)
    emph = (rng.random(n) < 0.02).astype(int)
    fr = {s: source_frame(matrix(s, n, seed, p_ptx=0.0, extra={"emphysema": emph}), TABLE, s)
          for s, seed in (("a", 1), ("b", 2))}
    for f in fr.values():  # a few pneumothoraces, none with emphysema
        f.codes.loc[f.codes["emphysema"] == 0, "pneumothorax"] = (rng.random(int((f.codes["emphysema"] == 0).sum())) < 0.01)
    design = SourceDesign(fr["a"], CrossSourceSettings())
    r = estimate_in_source(design, "emphysema", "pneumothorax", TABLE, CrossSourceSettings())
    assert isinstance(r, NoEstimate) and r.kind == "insufficient_support"
    assert r.support is not None and r.support.both == 0 and "no effect is reported" in r.reason
    v = validate_edges(fr, [CandidateEdge("emphysema", "pneumothorax")], TABLE).verdicts[0]
    assert v.verdict == "notTestable" and not v.effects()


def test_missing_column_and_unknown_concept() -> None:
    fr = frames(a={"n": 3000, "seed": 1})
    r = estimate_in_source(SourceDesign(fr["a"], CrossSourceSettings()), "copd", "pleural_effusion", TABLE,
                           CrossSourceSettings())
    assert isinstance(r, NoEstimate) and r.kind == "no_column"
    with pytest.raises(KeyError, match="not_a_concept"):
        validate_edges(fr, [CandidateEdge("not_a_concept", "atelectasis")], TABLE)


def test_uncertain_labels_are_left_out_of_treatment_and_outcome() -> None:
    m = matrix("a", 4000, 3)
    m.loc[:499, "pleural_effusion"] = -1
    f = source_frame(m, TABLE, "a")
    est = estimate_in_source(SourceDesign(f, CrossSourceSettings()), "pleural_effusion", "atelectasis", TABLE,
                             CrossSourceSettings())
    assert isinstance(est, SourceEffect) and est.n == 3500
    also = estimate_in_source(SourceDesign(f, CrossSourceSettings(uncertain="present")), "pleural_effusion",
                              "atelectasis", TABLE, CrossSourceSettings(uncertain="present"))
    assert isinstance(also, SourceEffect) and also.n == 4000


def test_ci_test_from_sufficient_statistics() -> None:
    fr = frames(a={"n": 20000, "seed": 1}, b={"n": 20000, "seed": 2, "p_eff0": 0.4})
    st = [source_statistics(f, TABLE, DiscoverySettings()) for f in fr.values()]
    names = [CONTEXT, *sorted({n for s in st for n in s.names})]
    test = PooledCITest(st, names, context=True, min_effect=0.0)
    i = {n: k for k, n in enumerate(names)}
    hf, eff, atel = i["heart_failure"], i["pleural_effusion"], i["atelectasis"]
    assert test(hf, atel, ()) < 1e-6  # dependent through effusion
    assert test(hf, atel, (eff,)) > 1e-3  # the chain is cut by effusion
    assert test(i[CONTEXT], eff, ()) < 1e-6  # effusion's base rate shifts between sources
    assert test(i[CONTEXT], hf, ()) > 1e-3  # heart failure's does not


def test_untestable_pair_is_not_called_dependent_or_independent_silently() -> None:
    fa = source_frame(matrix("a", 3000, 1, extra={"copd": (np.arange(3000) % 5 == 0).astype(int)}), TABLE, "a")
    fb = source_frame(matrix("b", 3000, 2, extra={"lung_lesion": (np.arange(3000) % 7 == 0).astype(int)}), TABLE, "b")
    st = [source_statistics(f, TABLE, DiscoverySettings()) for f in (fa, fb)]
    names = sorted({n for s in st for n in s.names})
    test = PooledCITest(st, names, context=False, min_effect=0.0, untestable_p=1.0)
    a, b = names.index("copd"), names.index("lung_lesion")
    assert test(a, b, ()) == 1.0 and (min(a, b), max(a, b)) in test.untestable
    assert test(a, names.index("atelectasis"), (b,)) == 0.0  # this conditioning set cannot separate


def test_proposals_skip_definitional_and_unrecorded_pairs() -> None:
    fr = frames(a={"n": 20000, "seed": 1, "p_eff0": 0.05}, b={"n": 20000, "seed": 2, "p_eff0": 0.3},
                c={"n": 20000, "seed": 3, "p_eff0": 0.6})
    run = propose_edges(fr, TABLE, discovery_settings=DiscoverySettings())
    pairs = {(p.cause, p.effect) for p in run.proposals}
    assert ("heart_failure", "pleural_effusion") in pairs and ("pleural_effusion", "atelectasis") in pairs
    assert not any("cardiomegaly" in p for p in pairs)
    for p in run.proposals:
        assert len(p.sources) >= 2 and p.pooled.value > 0 and not TABLE.definitional(p.cause, p.effect)
        assert p.parameters["discovery.alpha"] == DiscoverySettings().alpha and "PC" in p.method
    back = {(b, a) for a, b in pairs}
    assert not pairs & back


def test_designs_are_reused() -> None:
    fr = frames(**THREE)
    designs = build_designs(fr, CrossSourceSettings())
    run = validate_edges(fr, [CandidateEdge("heart_failure", "pleural_effusion")], TABLE, designs=designs)
    assert run.estimates == 3 and run.sources == ("a", "b", "c")


def test_fci_with_source_as_context_orients_too() -> None:
    fr = frames(a={"n": 20000, "seed": 1, "p_eff0": 0.05}, b={"n": 20000, "seed": 2, "p_eff0": 0.3},
                c={"n": 20000, "seed": 3, "p_eff0": 0.6})
    summary = discover_sources(fr, TABLE, DiscoverySettings(method="fci"), per_source=False)
    chosen, detail = summary.orientation("pleural_effusion", "atelectasis")
    assert chosen == ("pleural_effusion", "atelectasis") and "FCI" in detail
    assert summary.pooled.edge(CONTEXT, "heart_failure") is None  # heart failure does not shift between sources
