"""Correctness and speed of validation: discovery with and without the graph, effect error, run time.

Synthetic structural causal models with known graphs (5-30 variables, binary and linear-Gaussian,
with and without hidden confounders) stand in for the data; a simulated knowledge graph knows a
fraction of the true edges as *accepted* (the rest *proposed*), the hidden confounders as concepts
without a data column, and carries some spurious proposed edges. Measured, in one run:

1. discovery: SHD and edge F1 of causal-learn's PC (and FCI where confounders hide) called directly,
   against the same search given the graph's accepted edges as background knowledge (equal samples);
2. estimation on binary SCMs at n = 4,000: absolute error of each validated edge's effect against the
   true average effect, next to DoWhy called directly without the graph (every other variable as a
   common cause, linear regression), and the verdicts on true and spurious edges;
3. speed: 100 edges x 4,000 samples x 3 refuters through ``validate_claims`` on 2 worker processes;
4. the IU-Xray finding labels, when present: leave-one-out recovery of the starter graph's accepted
   edges by PC with the other accepted edges as knowledge, against PC alone, and a full validation run.

    .venv/bin/python -m benchmarks.bench_validation         # full grid (~15 min on 2 cores)
    .venv/bin/python -m benchmarks.bench_validation --quick # smaller grid (~3 min)

Writes ``docs/results/validation_benchmark.json`` and ``docs/results/validation_benchmark.png``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, cast

import networkx as nx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from reasoning.discovery import BackgroundKnowledgeSpec, compare_with_graph, discover  # noqa: E402
from reasoning.graph import ClaimEdge  # noqa: E402
from reasoning.metrics import score_structure, truth_structure  # noqa: E402
from reasoning.synthetic import SyntheticSCM, random_scm  # noqa: E402
from reasoning.validate import ValidationSettings, validate_claims  # noqa: E402

C = "https://w3id.org/mcrag/concept/"
REFUTERS = ("placebo_treatment", "random_common_cause", "data_subset")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def accepted_subset(scm: SyntheticSCM, fraction: float, seed: int) -> list[tuple[str, str]]:
    edges = scm.observed_edges()
    rng = np.random.default_rng(seed)
    k = int(round(fraction * len(edges)))
    return [edges[i] for i in sorted(rng.choice(len(edges), size=k, replace=False))] if k else []


# ------------------------------------------------------------------------------------------ discovery
def discovery_grid(sizes: list[int], seeds: int, fractions: list[float], n: int) -> list[dict[str, Any]]:
    rows = []
    for p in sizes:
        for kind in ("binary", "linear"):
            for latent in ((0, 2) if p >= 10 else (0, 1)):
                for seed in range(seeds):
                    scm = random_scm(p, int(round(1.5 * p)), kind, n_latent=latent, seed=1000 * p + 10 * seed + latent)
                    data = scm.observed_frame(n, seed=seed)
                    truth = truth_structure(scm.observed_edges(), scm.confounded_pairs())
                    for method in (("pc",) if latent == 0 else ("pc", "fci")):
                        t0 = time.perf_counter()
                        bare = discover(data, method=method)
                        base = score_structure(bare, truth)
                        row: dict[str, Any] = {
                            "variables": p, "kind": kind, "latent": latent, "seed": seed, "method": method,
                            "samples": n, "true_edges": base.true_edges, "test": bare.test,
                            "none": {"shd": base.shd, "edge_f1": base.edge_f1, "adjacency_f1": base.adjacency_f1,
                                     "seconds": round(time.perf_counter() - t0, 2)}}
                        for fraction in fractions:
                            spec = BackgroundKnowledgeSpec.from_edges(accepted_subset(scm, fraction, seed), scm.observed)
                            t0 = time.perf_counter()
                            known = score_structure(discover(data, method=method, background=spec), truth)
                            row[f"bk{int(fraction * 100)}"] = {
                                "shd": known.shd, "edge_f1": known.edge_f1, "adjacency_f1": known.adjacency_f1,
                                "required": len(spec.required), "seconds": round(time.perf_counter() - t0, 2)}
                        rows.append(row)
                        log(f"discovery p={p} {kind} latent={latent} seed={seed} {method}: SHD {base.shd} -> "
                            + ", ".join(f"{k}: {v['shd']}" for k, v in row.items() if k.startswith("bk")))
    return rows


def summarize_discovery(rows: list[dict[str, Any]], fractions: list[float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for method in ("pc", "fci"):
        chosen = [r for r in rows if r["method"] == method]
        if not chosen:
            continue
        shd0 = sum(r["none"]["shd"] for r in chosen)
        entry: dict[str, Any] = {"runs": len(chosen), "shd_none": shd0,
                                 "edge_f1_none": round(statistics.mean(r["none"]["edge_f1"] for r in chosen), 4)}
        for f in fractions:
            key = f"bk{int(f * 100)}"
            shd = sum(r[key]["shd"] for r in chosen)
            entry[key] = {"shd": shd, "shd_reduction": round(1 - shd / shd0, 4) if shd0 else 0.0,
                          "edge_f1": round(statistics.mean(r[key]["edge_f1"] for r in chosen), 4),
                          "runs_with_lower_shd": sum(r[key]["shd"] < r["none"]["shd"] for r in chosen),
                          "runs_with_higher_shd": sum(r[key]["shd"] > r["none"]["shd"] for r in chosen)}
        out[method] = entry
    return out


# ------------------------------------------------------------------------------------------ estimation
def kg_claims(scm: SyntheticSCM, accepted: list[tuple[str, str]], spurious: int, seed: int,
              truths: dict[tuple[str, str], float]) -> list[ClaimEdge]:
    """The simulated knowledge graph: true edges (some accepted), latent causes, spurious proposed edges."""
    rng = np.random.default_rng(seed)
    acc = set(accepted)
    edges = [(u, v, "accepted" if (u, v) in acc or u in scm.latent else "proposed") for u, v in scm.graph.edges]
    order = list(scm.observed)
    extra: set[tuple[str, str]] = set()
    tries = 0
    while len(extra) < spurious and tries < 10_000:
        tries += 1
        i, j = sorted(rng.choice(len(order), size=2, replace=False))
        a, b = order[i], order[j]
        if not nx.has_path(scm.graph, a, b) and (a, b) not in extra:
            extra.add((a, b))
    edges += [(a, b, "proposed") for a, b in sorted(extra)]
    out = []
    for k, (u, v, status) in enumerate(edges):
        truth = truths.get((u, v))
        relation = "prevents" if truth is not None and truth < 0 else "causes"
        out.append(ClaimEdge(f"https://w3id.org/mcrag/id/claim/bench{k:05d}", "urn:bench", C + u, C + v, relation,
                             "positive", status, 1, u, v))
    return out


def dowhy_direct(data: Any, x: str, y: str, observed: list[str]) -> float:
    """DoWhy without a graph: every other observed variable as a common cause, linear regression."""
    from dowhy import CausalModel

    model = CausalModel(data, x, y, common_causes=[v for v in observed if v not in (x, y)])
    estimand = model.identify_effect(method_name="maximal-adjustment", proceed_when_unidentifiable=True)
    return float(model.estimate_effect(estimand, method_name="backdoor.linear_regression").value)


def estimation_grid(sizes: list[int], seeds: int, n: int, jobs: int) -> list[dict[str, Any]]:
    rows = []
    for p in sizes:
        for latent in (0, 2):
            for seed in range(seeds):
                scm = random_scm(p, int(round(1.5 * p)), "binary", n_latent=latent, seed=500 + 100 * p + 10 * seed + latent)
                data = scm.observed_frame(n, seed=seed)
                accepted = accepted_subset(scm, 0.5, seed)
                pairs = scm.observed_edges()
                truths = {e: scm.true_effect(*e, draws=100_000) for e in pairs}
                claims = kg_claims(scm, accepted, max(1, p // 5), seed, truths)
                for c in claims:
                    key = (c.subject[len(C):], c.object[len(C):])
                    if key not in truths and c.subject[len(C):] in scm.observed:
                        truths[key] = scm.true_effect(*key, draws=100_000)
                settings = ValidationSettings(discovery="none", refuters=REFUTERS, simulations=25, jobs=jobs, seed=seed)
                t0 = time.perf_counter()
                run = validate_claims(claims, data, settings=settings)
                seconds = time.perf_counter() - t0
                for e in run.edges:
                    x, y = e.cause[len(C):], e.effect[len(C):]
                    if x in scm.latent:
                        continue
                    truth = truths[(x, y)]
                    verdicts = {v.verdict for v in run.claims if (v.cause, v.effect) == (e.cause, e.effect)}
                    row = {"variables": p, "latent": latent, "seed": seed, "edge": f"{x}->{y}", "truth": round(truth, 4),
                           "spurious": (x, y) not in set(pairs), "verdict": "/".join(sorted(verdicts)),
                           "identification": e.identification.kind if e.identification else None,
                           "not_testable": e.not_testable}
                    if e.estimate is not None and e.not_testable is None:
                        row["estimate"] = round(e.estimate.value, 4)
                        row["abs_error"] = round(abs(e.estimate.value - truth), 4)
                        row["ci_covers"] = e.estimate.ci_low <= truth <= e.estimate.ci_high
                        direct = dowhy_direct(data, x, y, list(scm.observed))
                        row["dowhy_direct"] = round(direct, 4)
                        row["dowhy_direct_abs_error"] = round(abs(direct - truth), 4)
                    rows.append(row)
                done = [r for r in rows if r["variables"] == p and r["latent"] == latent and r["seed"] == seed and "abs_error" in r]
                log(f"estimation p={p} latent={latent} seed={seed}: {len(run.edges)} edges in {seconds:.1f} s, "
                    f"MAE {statistics.mean(cast(float, r['abs_error']) for r in done):.4f} vs DoWhy direct "
                    f"{statistics.mean(cast(float, r['dowhy_direct_abs_error']) for r in done):.4f}" if done
                    else "no estimates")
    return rows


def summarize_estimation(rows: list[dict[str, Any]]) -> dict[str, Any]:
    est = [r for r in rows if "abs_error" in r]
    errs = sorted(r["abs_error"] for r in est)
    direct = sorted(r["dowhy_direct_abs_error"] for r in est)
    real = [r for r in rows if not r["spurious"] and abs(r["truth"]) >= 0.05]
    fake = [r for r in rows if r["spurious"]]

    def share(group: list[dict[str, Any]], verdict: str) -> float:
        return round(sum(r["verdict"] == verdict for r in group) / len(group), 4) if group else 0.0

    return {
        "edges": len(rows), "estimated": len(est),
        "mean_abs_error": round(statistics.mean(errs), 4), "median_abs_error": round(statistics.median(errs), 4),
        "p90_abs_error": round(errs[int(0.9 * (len(errs) - 1))], 4),
        "ci_coverage": round(sum(r["ci_covers"] for r in est) / len(est), 4),
        "dowhy_direct_mean_abs_error": round(statistics.mean(direct), 4),
        "dowhy_direct_p90_abs_error": round(direct[int(0.9 * (len(direct) - 1))], 4),
        "true_edges_validated": share(real, "validated"), "true_edges_refuted": share(real, "refuted"),
        "true_edges_not_testable": share(real, "notTestable"),
        "spurious_edges_refuted": share(fake, "refuted"), "spurious_edges_validated": share(fake, "validated"),
        "not_identifiable": sum(1 for r in rows if (r["not_testable"] or "").startswith("not identifiable")),
    }


# ------------------------------------------------------------------------------------------ speed
def speed(n: int, jobs: int, simulations: int) -> dict[str, Any]:
    scm = random_scm(30, 90, "binary", seed=4242)
    data = scm.observed_frame(n, seed=1)
    accepted = accepted_subset(scm, 0.5, 0)
    truths = {e: scm.true_effect(*e, draws=50_000) for e in scm.observed_edges()}  # signs: causes / prevents
    claims = kg_claims(scm, accepted, 10, 0, truths)
    assert len(claims) == 100
    out: dict[str, Any] = {"edges": len(claims), "samples": n, "refuters": list(REFUTERS), "simulations": simulations,
                           "jobs": jobs, "cpus": os.cpu_count()}
    for discovery in ("none", "pc"):
        settings = ValidationSettings(discovery=discovery, refuters=REFUTERS, simulations=simulations, jobs=jobs)
        t0 = time.perf_counter()
        run = validate_claims(claims, data, settings=settings)
        out[f"seconds_discovery_{discovery}"] = round(time.perf_counter() - t0, 2)
        out[f"edge_cpu_seconds_discovery_{discovery}"] = round(sum(e.cpu_seconds for e in run.edges), 2)
        out[f"load_average_discovery_{discovery}"] = round(os.getloadavg()[0], 2)
        out[f"counts_discovery_{discovery}"] = run.counts()
        log(f"speed: 100 edges, discovery={discovery}: {out[f'seconds_discovery_{discovery}']} s {run.counts()}")
    return out


# ------------------------------------------------------------------------------------------ IU-Xray
def iu_xray(jobs: int) -> dict[str, Any] | None:
    data_dir = Path(os.environ.get("MCRAG_DATA_DIR", ROOT.parent / "shared" / "data"))
    labels = data_dir / "iu_xray" / "openi_labels.csv"
    if not labels.is_file():
        log(f"IU-Xray labels not found at {labels}: skipped")
        return None
    from kg.concepts import FINDING_CONCEPTS, FINDINGS
    from kg.ontology import bootstrap
    from kg.store import open_store
    from reasoning.data import load_table, numeric_values
    from reasoning.graph import read_claims
    from reasoning.validate import validate_store

    table = load_table(labels)
    frame = table.frame[list(FINDINGS)].apply(numeric_values)
    store = open_store(":memory:")
    bootstrap(store)
    name = {c.iri: f for f, c in FINDING_CONCEPTS.items()}
    accepted = sorted({(name[c.subject], name[c.object]) for c in read_claims(store)
                       if c.status == "accepted" and c.subject in name and c.object in name})
    bare = discover(frame, method="pc")
    loo: dict[str, dict[str, Any]] = {"none": {}, "background": {}}
    for edge in accepted:
        spec = BackgroundKnowledgeSpec.from_edges([e for e in accepted if e != edge], frame.columns)
        known = discover(frame, method="pc", background=spec)
        for key, result in (("none", bare), ("background", known)):
            verdict = compare_with_graph(result, [edge])[edge].verdict
            loo[key][verdict] = loo[key].get(verdict, 0) + 1
    full = discover(frame, method="pc", background=BackgroundKnowledgeSpec.from_edges(accepted, frame.columns))
    reference = truth_structure(accepted)
    t0 = time.perf_counter()
    run = validate_store(store, labels, jobs=jobs, write=True)
    return {
        "rows": table.rows, "variables": len(bare.variables), "skipped": dict(bare.skipped),
        "accepted_edges_among_findings": [f"{a}->{b}" for a, b in accepted],
        "pc_edges_none": len(bare.edges), "pc_edges_background": len(full.edges),
        "leave_one_out_discovery_verdicts": loo,
        "shd_vs_accepted_edges": {"none": score_structure(bare, reference).shd,
                                  "background": score_structure(full, reference).shd},
        "validate_seconds": round(time.perf_counter() - t0, 2), "validate_counts": run.counts(),
        "estimated_edges": sorted(
            f"{e.cause_label} -> {e.effect_label}: {e.estimate.value:+.3f} [{e.estimate.ci_low:+.3f}, "
            f"{e.estimate.ci_high:+.3f}] ({e.identification.kind if e.identification else ''}; "
            f"{'/'.join(sorted({v.verdict for v in run.claims if (v.cause, v.effect) == (e.cause, e.effect)}))})"
            for e in run.edges if e.estimate is not None),
    }


# ------------------------------------------------------------------------------------------ plot
def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    rows = [r for r in result["discovery"]["runs"] if r["method"] == "pc"]
    groups = sorted({(r["variables"], r["kind"], r["latent"]) for r in rows})
    keys = ["none"] + [k for k in rows[0] if k.startswith("bk")]
    width = 0.8 / len(keys)
    for i, key in enumerate(keys):
        vals = [statistics.mean(r[key]["shd"] for r in rows if (r["variables"], r["kind"], r["latent"]) == g) for g in groups]
        axes[0].bar(np.arange(len(groups)) + i * width, vals, width,
                    label="PC, no knowledge" if key == "none" else f"PC + {key[2:]}% of edges as knowledge")
    axes[0].set_xticks(np.arange(len(groups)) + width * (len(keys) - 1) / 2)
    axes[0].set_xticklabels([f"{p}{'b' if k == 'binary' else 'g'}{'+L' if lat else ''}" for p, k, lat in groups],
                            rotation=60, fontsize=7)
    axes[0].set_ylabel("structural Hamming distance (mean over seeds)")
    axes[0].set_title(f"Discovery: SHD at n = {rows[0]['samples']} (b binary, g Gaussian, +L hidden confounders)",
                      fontsize=8)
    axes[0].legend(fontsize=7)
    est = [r for r in result["estimation"]["edges"] if "abs_error" in r]
    axes[1].boxplot([[r["abs_error"] for r in est], [r["dowhy_direct_abs_error"] for r in est]],
                    tick_labels=["graph-based (MCRAG)", "DoWhy, no graph"], showfliers=True)
    axes[1].axhline(0.05, color="red", ls="--", lw=1, label="goal 0.05")
    axes[1].set_ylabel("|estimated - true average effect|")
    axes[1].set_title(f"Effect error, binary SCMs, n = 4,000 ({len(est)} edges)", fontsize=8)
    axes[1].legend(fontsize=7)
    sp = result["speed"]
    bars = {"estimate + 3 refuters\n(measured, shared)": sp["seconds_discovery_none"],
            "estimate + 3 refuters\n(CPU s / 2 cores)": sp["edge_cpu_seconds_discovery_none"] / 2,
            "+ PC discovery\n(measured, shared)": sp["seconds_discovery_pc"]}
    axes[2].bar(list(bars), list(bars.values()), color=["#1565c0", "#90caf9", "#2e7d32"])
    axes[2].axhline(60, color="red", ls="--", lw=1, label="goal 60 s")
    axes[2].set_ylabel("seconds")
    axes[2].tick_params(axis="x", labelsize=7)
    axes[2].set_title(f"100 edges x {sp['samples']} rows x 3 refuters x {sp['simulations']} sims, {sp['jobs']} "
                      f"workers (load avg {sp['load_average_discovery_none']:.1f})", fontsize=8)
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="Smaller grid (sizes 5, 10, 20; one seed).")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--samples", type=int, default=4000)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "results")
    ap.add_argument("--skip", nargs="*", default=[], choices=["discovery", "estimation", "speed", "iu_xray"],
                    help="Parts not to run; their previous figures in the output JSON are kept.")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    seeds = args.seeds or (1 if args.quick else 3)
    sizes = [5, 10, 20] if args.quick else [5, 10, 20, 30]
    fractions = [0.25, 0.5]
    started = time.perf_counter()
    result: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                          "platform": platform.platform()},
                              "settings": {"samples": args.samples, "seeds": seeds, "sizes": sizes,
                                           "background_fractions": fractions, "jobs": args.jobs}}
    if "discovery" not in args.skip:
        runs = discovery_grid(sizes, seeds, fractions, args.samples)
        result["discovery"] = {"summary": summarize_discovery(runs, fractions), "runs": runs}
    if "estimation" not in args.skip:
        rows = estimation_grid([10, 20] if args.quick else [10, 20, 30], seeds, args.samples, args.jobs)
        result["estimation"] = {"summary": summarize_estimation(rows), "edges": rows}
    if "speed" not in args.skip:
        result["speed"] = speed(args.samples, args.jobs, 25)
    if "iu_xray" not in args.skip:
        result["iu_xray"] = iu_xray(args.jobs)
    result["seconds"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "validation_benchmark.json"
    if args.skip and target.is_file():  # a partial rerun keeps the parts it did not repeat
        previous = json.loads(target.read_text(encoding="utf-8"))
        for part in args.skip:
            if part in previous:
                result[part] = previous[part]
    target.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    if all(k in result for k in ("discovery", "estimation", "speed")):
        plot(result, args.out / "validation_benchmark.png")
    summary: dict[str, Any] = {k: result[k]["summary"] for k in ("discovery", "estimation") if k in result}
    summary |= {k: result[k] for k in ("speed", "iu_xray") if k in result}
    print(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
