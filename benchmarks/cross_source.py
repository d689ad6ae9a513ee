"""Benchmark: chest causal edges validated and proposed across five label sources.

    python benchmarks/cross_source.py [--data DIR] [--store STORE] [--no-docs]

Measures, on the five sources imported fresh in the same run:

* recall of the starter textbook edges (``ontologies/starter_claims.csv``): of those whose two ends
  are columns of at least two sources, the share the cross-source rule validates; and, as the figure
  that a rule validating everything would fail, the share of their *reverses* it validates;
* precision of data-proposed edges against the starter graph plus the hand-checked list
  ``benchmarks/data/chest_edges_expected.csv`` (committed before any proposal was looked at);
* cross-source agreement: for every edge with an adjusted effect in two or more sources, whether
  the sources' signs agree (a plot shows the per-source effects side by side);
* time: import, discovery (pooled with the source as context, and per source), validation, proposals;
* mined claims re-validated on data they were not mined from: the causal statements the report miner
  reads in the IU-Xray reports (mined in the same run) on the other four sources, and, with
  ``--store`` (a store holding mined literature claims, e.g. the one ``mcrag pipeline`` builds), the
  chest-relevant literature claims (both ends concepts of the table) on all five: counts and verdicts.

The anchor, computed in the same run, is association alone: unadjusted risk differences, no
discovery, direction by tiers only (same-tier pairs oriented by name). Writes
``docs/results/cross_source.json`` and ``docs/results/cross_source_agreement.png`` and a row in
``docs/BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_info  # noqa: E402
from kg.concepts import ConceptTable, load_concept_table  # noqa: E402
from reasoning.cross_source import (  # noqa: E402
    CandidateEdge,
    CrossSourceSettings,
    CrossSourceVerdict,
    SourceEffect,
    build_designs,
    dowhy_check,
    estimate_in_source,
    validate_edges,
)
from reasoning.edge_proposals import propose_edges  # noqa: E402
from reasoning.source_discovery import DiscoverySettings, discover_sources  # noqa: E402
from reasoning.source_frames import SourceFrame, load_source_frames  # noqa: E402
from reasoning.sources import import_sources  # noqa: E402

GOAL_SECONDS = 600.0
EXPECTED = ROOT / "benchmarks" / "data" / "chest_edges_expected.csv"
STARTER = ROOT / "ontologies" / "starter_claims.csv"


def starter_edges(table: ConceptTable) -> list[tuple[str, str, str]]:
    out = []
    with STARTER.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            c, e = table.by_vocabulary_key(row["subject"]), table.by_vocabulary_key(row["object"])
            if c is None or e is None:
                raise SystemExit(f"starter edge {row['subject']} -> {row['object']} has no concept in the table")
            out.append((c.id, e.id, row["relation"]))
    return out


def expected_edges(table: ConceptTable) -> list[tuple[str, str]]:
    with EXPECTED.open(encoding="utf-8") as fh:
        rows = [(r["cause"], r["effect"]) for r in csv.DictReader(fh)]
    unknown = [x for r in rows for x in r if x not in table]
    if unknown:
        raise SystemExit(f"{EXPECTED.name} names unknown concept(s) {sorted(set(unknown))}")
    return rows


def sources_with_both(frames: dict[str, SourceFrame], a: str, b: str) -> list[str]:
    return [s for s, f in frames.items() if f.has(a) and f.has(b)]


def judged(run: Any, cause: str, effect: str) -> CrossSourceVerdict:
    """The verdict of an edge the run was asked about (every edge asked gets one)."""
    v = run.verdict(cause, effect)
    assert v is not None, f"{cause} -> {effect} was not judged"
    return v


def verdict_row(v: CrossSourceVerdict) -> dict[str, Any]:
    return {"cause": v.edge.cause, "effect": v.edge.effect, "verdict": v.verdict, "reason": v.reason,
            "direction": {"basis": v.direction.basis, "detail": v.direction.detail},
            "pooled": None if v.pooled is None else {"value": round(v.pooled.value, 4), "ci": [round(v.pooled.ci_low, 4),
                                                                                                  round(v.pooled.ci_high, 4)],
                                                     "i_squared": round(v.pooled.i_squared, 3)},
            "per_source": {r.source: ({"value": round(r.value, 4), "ci": [round(r.ci_low, 4), round(r.ci_high, 4)],
                                       "n": r.n, "both": r.support.both} if isinstance(r, SourceEffect)
                                      else {"none": r.kind, "reason": r.reason}) for r in v.per_source}}


def sign_agreement(effect_sets: list[list[SourceEffect]], significant_only: bool) -> dict[str, Any]:
    pairs = agree = edges = all_same = 0
    for effects in effect_sets:
        es = [e for e in effects if e.excludes_zero] if significant_only else effects
        if len(es) < 2:
            continue
        edges += 1
        signs = [e.sign for e in es]
        all_same += int(len(set(signs)) == 1)
        for x, y in itertools.combinations(signs, 2):
            pairs += 1
            agree += int(x == y)
    return {"edges": edges, "source_pairs": pairs, "agreeing_pairs": agree,
            "pair_agreement_rate": round(agree / pairs, 4) if pairs else None,
            "edges_all_same_sign": all_same, "edge_agreement_rate": round(all_same / edges, 4) if edges else None}


def association_anchor(frames: dict[str, SourceFrame], table: ConceptTable,
                       pairs: list[tuple[str, str]]) -> dict[tuple[str, str], list[SourceEffect]]:
    """Unadjusted per-source risk differences (no confounders, no earlier tiers)."""
    bare = CrossSourceSettings(confounders=(), adjust_earlier_tiers=False)
    designs = build_designs(frames, bare)
    out = {}
    for a, b in pairs:
        out[(a, b)] = [r for d in designs.values()
                       if isinstance(r := estimate_in_source(d, a, b, table, bare), SourceEffect)]
    return out


def plot(rows: list[dict[str, Any]], sources: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if sum(isinstance(v, dict) and "value" in v for v in r["per_source"].values()) >= 2]
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(rows) + 1.8))
    colours = dict(zip(sources, ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"], strict=False))
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        for k, s in enumerate(sources):
            v = r["per_source"].get(s)
            if not v or "value" not in v:
                continue
            off = (k - (len(sources) - 1) / 2) * 0.13
            ax.errorbar(v["value"], y + off, xerr=[[v["value"] - v["ci"][0]], [v["ci"][1] - v["value"]]], fmt="o",
                        ms=3.5, color=colours[s], capsize=1.5, lw=1)
    for s in sources:
        ax.errorbar([], [], xerr=[], fmt="o", ms=3.5, color=colours[s], label=s)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{r['cause']} -> {r['effect']} ({r['verdict']})" for r in reversed(rows)], fontsize=7.5)
    ax.set_xlabel("adjusted risk difference per source (95% CI)")
    ax.set_title("Starter textbook edges testable in two or more sources: per-source adjusted effects", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)


def mined_claims_revalidated(paths: dict[str, str], frames: dict[str, SourceFrame], table: ConceptTable,
                             discovery: Any, store_path: str | None, reports: int | None) -> dict[str, Any]:
    """IU report claims (mined here) on the other four sources; literature claims of ``store_path`` on all five."""
    from kg.claim_reader import read_claims
    from kg.mining.api import mine_reports
    from kg.namespaces import NAMED_GRAPHS
    from kg.ontology import bootstrap
    from kg.store import open_store
    from mcrag.datasets.locate import dataset_dir
    from mcrag.settings import load_settings
    from reasoning.graph_learning import LearnSettings, learn_graph

    out: dict[str, Any] = {}
    mem = open_store(":memory:")
    bootstrap(mem)
    iu = dataset_dir(load_settings(), "iu_xray")
    t0 = time.perf_counter()
    if iu is not None:
        summary = mine_reports(mem, iu / "annotation.json", limit=reports, progress=False)
        out["reports_mined"] = {"reports": summary.documents, "causal_statements": summary.claims_found,
                                "seconds": round(time.perf_counter() - t0, 1)}
    else:
        out["reports_mined"] = "not run: iu_xray (annotation.json) absent"
    bc5 = dataset_dir(load_settings(), "bc5cdr")
    if not store_path and bc5 is not None:
        from kg.mining.api import mine_literature

        t0 = time.perf_counter()
        lit = mine_literature(mem, bc5 / "CDR_DevelopmentSet.PubTator.txt", gold_entities=True, progress=False)
        out["literature_mined"] = {"abstracts": lit.documents, "claims": lit.claims_found,
                                   "how": "BC5CDR development set, gold entity mentions (MeSH ids), pattern-only "
                                          "relation reading (no trained relation model)",
                                   "seconds": round(time.perf_counter() - t0, 1)}
    if store_path:
        import io

        with open_store(store_path) as src:
            buf = io.BytesIO()
            src.export(buf, "nquads", graph=NAMED_GRAPHS["literature"])
        mem.load(buf.getvalue(), "nquads")
        out["literature_store"] = store_path
    else:
        out["literature_store"] = "not given: literature claims mined in this run (literature_mined)"
    run = learn_graph(mem, paths, table=table, settings=LearnSettings(propose=False), write=False, frames=frames,
                      discovery=discovery)
    graph_of = {c.claim: c.graph for c in read_claims(mem)}
    for name, graph in (("reports", NAMED_GRAPHS["reports"]), ("literature", NAMED_GRAPHS["literature"])):
        outcomes = [o for o in run.claims if graph_of.get(o.claim) == graph]
        counts: dict[str, int] = {}
        for o in outcomes:
            counts[o.verdict or "left alone"] = counts.get(o.verdict or "left alone", 0) + 1
        left: dict[str, int] = {}
        for o in outcomes:
            if o.verdict is None:
                left[o.reason] = left.get(o.reason, 0) + 1
        out[name] = {"claims": len(outcomes), "chest_claims_judged": sum(o.verdict is not None for o in outcomes),
                     "verdicts": counts, "left_alone_because": left,
                     "judged": sorted({(o.cause or "", o.effect or "", o.verdict or "", o.reason[:240])
                                       for o in outcomes if o.verdict is not None})}
    mem.close()
    return out


def data_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    from mcrag.datasets.locate import cxr_labels_dir
    from mcrag.settings import load_settings

    settings = load_settings()  # the data folder, else the installed torchxrayvision package's data
    return cxr_labels_dir(settings) or settings.data("cxr_labels")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="the cxr_labels folder (default: the data folder's cxr_labels, else torchxrayvision's)")
    ap.add_argument("--no-docs", action="store_true", help="do not append a row to docs/BENCHMARKS.md")
    ap.add_argument("--store", help="a store whose literature claims are re-validated too (read only; copied)")
    ap.add_argument("--uncertain", choices=("exclude", "present", "absent"), default="exclude",
                    help="read uncertain labels of cause and effect this way (an ablation: results go to "
                         "cross_source_uncertain_<policy>.json)")
    ap.add_argument("--reports", type=int, default=None, help="mine only this many IU-Xray reports (default all)")
    args = ap.parse_args()
    folder = data_dir(args.data)
    if not folder.is_dir():
        print(f"cxr_labels folder {folder} not found", file=sys.stderr)
        return 2
    loads = [os.getloadavg()[0]]
    table = load_concept_table()
    settings = CrossSourceSettings(uncertain=args.uncertain)
    suffix = "" if args.uncertain == "exclude" else f"_uncertain_{args.uncertain}"
    command = "python benchmarks/cross_source.py" + ("" if not suffix else f" --uncertain {args.uncertain}")
    dsettings = DiscoverySettings()
    timing: dict[str, float] = {}

    def tick(name: str, t0: float) -> None:
        timing[name] = round(time.perf_counter() - t0, 2)
        loads.append(os.getloadavg()[0])
        print(f"{name}: {timing[name]:.1f} s", flush=True)

    keep = tempfile.TemporaryDirectory()
    out = keep.name
    t0 = time.perf_counter()
    report = import_sources(folder, out, progress=False)
    tick("import", t0)
    t0 = time.perf_counter()
    frames = load_source_frames(report.paths(), table)
    tick("frames", t0)
    t_all = time.perf_counter()
    t0 = time.perf_counter()
    discovery = discover_sources(frames, table, dsettings)
    tick("discovery", t0)
    t0 = time.perf_counter()
    designs = build_designs(frames, settings)
    tick("designs", t0)

    starter = starter_edges(table)
    expected = expected_edges(table)
    reference = {(c, e) for c, e, _ in starter} | set(expected)
    claims = list(dict.fromkeys([(c, e) for c, e, _ in starter] + expected))
    t0 = time.perf_counter()
    run = validate_edges(frames, [CandidateEdge(c, e, label="starter") for c, e in claims], table,
                         settings=settings, discovery=discovery, designs=designs)
    tick("validation", t0)
    t0 = time.perf_counter()
    reverse_run = validate_edges(frames, [CandidateEdge(e, c, label="reverse of starter") for c, e, _ in starter],
                                 table, settings=settings, discovery=discovery, designs=designs)
    tick("validation_of_reverses", t0)
    t0 = time.perf_counter()
    proposals = propose_edges(frames, table, settings=settings, discovery=discovery, designs=designs)
    tick("proposals", t0)
    total = time.perf_counter() - t_all

    # recall over the starter edges testable in two or more sources
    starter_pairs = list(dict.fromkeys((c, e) for c, e, _ in starter))
    testable = [p for p in starter_pairs if len(sources_with_both(frames, *p)) >= 2]
    validated = [p for p in testable if judged(run, *p).verdict == "validated"]
    rev_validated = [p for p in testable if judged(reverse_run, p[1], p[0]).verdict == "validated"]

    # precision of proposals against the starter graph plus the hand-checked list
    props = [(p.cause, p.effect) for p in proposals.proposals]
    undirected_ref = {frozenset(p) for p in reference}
    hits = [p for p in props if p in reference]
    hits_undirected = [p for p in props if frozenset(p) in undirected_ref]

    # anchor: association only, on the same pairs
    graph_concepts = [c.id for c in table if c.tier in ("disease", "finding", "device")]
    pairs = []
    for a, b in itertools.combinations(sorted(graph_concepts), 2):
        if table.definitional(a, b) or len(sources_with_both(frames, a, b)) < settings.min_sources:
            continue
        ra, rb = table.tier_rank(a), table.tier_rank(b)
        pairs.append((a, b) if ra <= rb else (b, a))
    anchor_effects = association_anchor(frames, table, pairs + [(e, c) for c, e in testable if (e, c) not in pairs]
                                        + [p for p in testable if p not in pairs])

    def assoc_validated(p: tuple[str, str]) -> bool:
        es = anchor_effects.get(p) or []
        return sum(e.excludes_zero and e.value > 0 for e in es) >= 2 and not any(e.excludes_zero and e.value < 0 for e in es)

    anchor_props = [p for p in pairs if assoc_validated(p)]
    anchor_hits = [p for p in anchor_props if p in reference]
    anchor_hits_undirected = [p for p in anchor_props if frozenset(p) in undirected_ref]
    anchor_recall = [p for p in testable if assoc_validated(p)]
    anchor_rev = [p for p in testable if assoc_validated((p[1], p[0]))]

    # agreement across sources: every edge seen in this run with effects in two or more sources
    effect_sets = [list(v.effects().values()) for v in run.verdicts]
    effect_sets += [list(v.effects().values()) for v in reverse_run.verdicts]
    seen = {v.edge.pair for v in run.verdicts} | {v.edge.pair for v in reverse_run.verdicts}
    effect_sets += [[r for r in p.per_source if isinstance(r, SourceEffect)] for p in proposals.proposals
                    if (p.cause, p.effect) not in seen]
    agreement_all = sign_agreement(effect_sets, significant_only=False)
    agreement_sig = sign_agreement(effect_sets, significant_only=True)

    # the single-pass estimates against DoWhy's estimator on a sample
    rng = random.Random(0)
    sample = [(v.edge.cause, v.edge.effect, s) for v in run.verdicts for s in v.effects()]
    rng.shuffle(sample)
    diffs = []
    for c, e, s in sample[:12]:
        mine = judged(run, c, e).effects()[s]
        value, lo, hi = dowhy_check(designs[s], c, e, table, settings)
        diffs.append(max(abs(mine.value - value), abs(mine.ci_low - lo), abs(mine.ci_high - hi)))

    t0 = time.perf_counter()
    mined = mined_claims_revalidated(report.paths(), frames, table, discovery, args.store, args.reports)
    tick("mined_claims", t0)
    keep.cleanup()

    starter_rows = [verdict_row(judged(run, c, e)) for c, e in starter_pairs]
    for r in starter_rows:
        r["testable_in"] = sources_with_both(frames, r["cause"], r["effect"])
    plot([r for r in starter_rows if len(r["testable_in"]) >= 2], list(frames), ROOT / "docs" / "results" /
         f"cross_source_agreement{suffix}.png")

    result: dict[str, Any] = {
        "benchmark": "cross_source", "command": command,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": machine_info(),
        "load_average_1min_during": [round(x, 2) for x in loads],
        "sources": {s: {"studies": f.rows, "concepts": len(f.concepts)} for s, f in frames.items()},
        "pooled_studies": sum(f.rows for f in frames.values()), "subsampling": "none",
        "settings": {"estimation": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(settings).items()},
                     "discovery": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(dsettings).items()}},
        "timing_s": timing, "discovery_and_validation_s": round(total, 2), "goal_s": GOAL_SECONDS,
        "goal_met": total <= GOAL_SECONDS,
        "discovery": {"pooled_edges": len(discovery.pooled.edges), "ci_tests": discovery.tests,
                      "untestable_pairs": discovery.untestable,
                      "per_source_edges": {s: len(r.edges) for s, r in discovery.per_source.items()}},
        "recall": {"starter_edges": len(starter_pairs), "testable_in_two_or_more_sources": len(testable),
                   "validated": len(validated), "recall": round(len(validated) / len(testable), 4) if testable else None,
                   "validated_edges": [list(p) for p in validated],
                   "reverse_validated": len(rev_validated),
                   "reverse_validated_rate": round(len(rev_validated) / len(testable), 4) if testable else None,
                   "counts": run.counts(), "reverse_counts": reverse_run.counts(),
                   "anchor_association_only": {"validated": len(anchor_recall), "reverse_validated": len(anchor_rev),
                                               "recall": round(len(anchor_recall) / len(testable), 4) if testable else None,
                                               "reverse_validated_rate": round(len(anchor_rev) / len(testable), 4)
                                               if testable else None}},
        "precision": {"reference_edges": len(reference), "candidates": proposals.candidates,
                      "proposed": len(props), "in_reference": len(hits),
                      "precision": round(len(hits) / len(props), 4) if props else None,
                      "in_reference_either_direction": len(hits_undirected),
                      "precision_either_direction": round(len(hits_undirected) / len(props), 4) if props else None,
                      "unoriented_pairs_set_aside": len(proposals.unoriented), "rejected": dict(proposals.rejected),
                      "anchor_association_only": {
                          "candidate_pairs": len(pairs), "proposed": len(anchor_props), "in_reference": len(anchor_hits),
                          "precision": round(len(anchor_hits) / len(anchor_props), 4) if anchor_props else None,
                          "precision_either_direction": round(len(anchor_hits_undirected) / len(anchor_props), 4)
                          if anchor_props else None},
                      "proposals": [{"cause": p.cause, "effect": p.effect, "sources": list(p.sources),
                                     "pooled": round(p.pooled.value, 4), "direction": p.direction.basis,
                                     "in_reference": (p.cause, p.effect) in reference} for p in proposals.proposals]},
        "agreement": {"all_estimates": agreement_all, "intervals_excluding_zero": agreement_sig},
        "dowhy_check": {"estimates_compared": len(diffs), "max_abs_difference": max(diffs) if diffs else None},
        "starter_edges": starter_rows,
        "expected_edges": [verdict_row(judged(run, c, e)) for c, e in expected],
        "mined_claims": mined,
    }
    rec, prec = result["recall"], result["precision"]
    if prec["precision"] and prec["anchor_association_only"]["precision"]:
        prec["ratio_to_anchor"] = round(prec["precision"] / prec["anchor_association_only"]["precision"], 2)
    out_json = ROOT / "docs" / "results" / f"cross_source{suffix}.json"
    out_json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"recall": rec["recall"], "reverse_validated_rate": rec["reverse_validated_rate"],
                      "precision": prec["precision"], "proposed": prec["proposed"],
                      "anchor_precision": prec["anchor_association_only"]["precision"],
                      "agreement": agreement_all["pair_agreement_rate"], "seconds": round(total, 1),
                      "report_claims": mined["reports"]["verdicts"], "literature_claims": mined["literature"]["verdicts"]}))
    if not args.no_docs:
        m = result["machine"]
        an = rec["anchor_association_only"]
        row = (f"| `{result['command']}` | {m['cpu_count']} vCPU ({m['cpu_model']}), {m['memory_gb']} GB, "
               f"{m['platform']}, Python {m['python']}; shared with other jobs (1-min load average "
               f"{min(loads):.1f}-{max(loads):.1f} during the run) | {result['date'][:10]} | "
               f"{result['pooled_studies']:,} pooled studies, no subsampling. Discovery (pooled PC with the source as "
               f"context + PC per source) {timing['discovery']:.1f} s; validation of {len(claims)} starter and "
               f"hand-listed edges {timing['validation']:.1f} s, of the {len(starter)} reversed starter edges "
               f"{timing['validation_of_reverses']:.1f} s; proposals {timing['proposals']:.1f} s; discovery + validation "
               f"+ proposals {total:.1f} s (goal <= {GOAL_SECONDS:.0f} s: {'met' if result['goal_met'] else 'not met'}). "
               f"Starter recall {rec['validated']}/{rec['testable_in_two_or_more_sources']} testable = {rec['recall']}, "
               f"reverses validated {rec['reverse_validated']} (association-only anchor: recall {an['recall']}, reverses "
               f"{an['reverse_validated_rate']}); proposals {prec['proposed']}, precision {prec['precision']} "
               f"(anchor {prec['anchor_association_only']['precision']} over {prec['anchor_association_only']['proposed']}); "
               f"sign agreement across sources {agreement_all['pair_agreement_rate']} of source pairs. "
               f"Mined IU report claims re-validated on the other four sources: {mined['reports']['verdicts']}; "
               f"literature claims: {mined['literature']['verdicts'] or mined['literature_store']}. "
               f"Figures: [results/cross_source{suffix}.json](results/cross_source{suffix}.json), "
               f"[results/cross_source_agreement{suffix}.png](results/cross_source_agreement{suffix}.png). |\n")
        with (ROOT / "docs" / "BENCHMARKS.md").open("a", encoding="utf-8") as fh:
            fh.write(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
