#!/usr/bin/env python
"""Chest pathophysiology edges mined from real chest text, and a random sample of them to judge by hand.

Mines, into a fresh in-memory store, every MedQuAD page (NHLBI and the other folders) and every PubMedQA
abstract with the literature miner (the product's models, ``<MCRAG_HOME>/models/literature``), and the
IU-Xray full reports with the report miner; then counts the chest pathophysiology edges: positive causal
claims (``mcrag:CausalClaim``, a direct edge in the graph) whose scope is ``chest`` or ``cardiopulmonary``
-- from the reports, those read in the impression section. Writes ``docs/results/literature_chest_edges.json``
and, with ``--sample``, a random sample (seed 0) as a markdown table to judge
(``docs/results/literature_chest_edges_sample.md``: sentence, edge, judgement, reason). ``--score`` reads
the judged table back and adds the precision to the JSON.

    python -m benchmarks.literature_chest_edges --sample 100     # mine, count, write the table to judge
    python -m benchmarks.literature_chest_edges --score          # precision of the judged table
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "docs" / "results"
OUT = RESULTS / "literature_chest_edges.json"
SAMPLE = RESULTS / "literature_chest_edges_sample.md"

EDGES_QUERY = """
SELECT ?c ?rel ?sl ?ol ?scope ?strength ?cert ?conf ?sentence ?section ?doc ?coll WHERE {
  ?c a mcrag:CausalClaim ; rdf:predicate ?rel ; rdf:subject ?s ; rdf:object ?o ; mcrag:polarity "positive" ;
     mcrag:scope ?scope ; mcrag:sentence ?sentence ; mcrag:certainty ?cert ; mcrag:confidence ?conf ;
     prov:wasDerivedFrom ?span .
  ?span oa:hasSource ?d . ?d dcterms:identifier ?doc ; dcterms:source ?coll .
  OPTIONAL { ?span mcrag:section ?section }
  OPTIONAL { ?c mcrag:claimStrength ?strength }
  ?s skos:prefLabel ?sl . ?o skos:prefLabel ?ol .
  FILTER(?scope IN ("chest", "cardiopulmonary"))
}"""


def say(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


def _local(iri: str | None) -> str:
    return (iri or "").rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def corpus_of(collection: str) -> str:
    if collection.startswith("medquad"):
        return "MedQuAD"
    if collection == "pubmedqa":
        return "PubMedQA"
    return "IU-Xray impressions"


def mine(data: Path, model_dir: Path, processes: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from kg.mining.api import mine_literature, mine_reports
    from kg.store import open_store

    store = open_store(":memory:")
    runs = {}
    for name, path in (("medquad", data / "literature" / "medquad"),
                       ("pubmedqa", data / "literature" / "pubmedqa" / "ori_pqal.json")):
        t = time.perf_counter()
        s = mine_literature(store, path, model_dir=model_dir, processes=processes, batch_size=8, progress=True)
        runs[name] = {"documents": s.documents, "claims": s.claims_found, "seconds": round(time.perf_counter() - t, 1)}
        say(f"{name}: {runs[name]}")
    archive = data / "cxr_labels" / "NLMCXR_reports.tgz"
    t = time.perf_counter()
    s = mine_reports(store, archive, labeler_dir=data / "labeler", processes=processes, progress=True)
    runs["iu_xray_reports"] = {"documents": s.documents, "claims": s.claims_found,
                               "seconds": round(time.perf_counter() - t, 1)}
    rows = []
    for r in store.select(EDGES_QUERY):
        coll = r["coll"] or ""
        if corpus_of(coll) == "IU-Xray impressions" and (r["section"] or "") != "impression":
            continue
        rows.append({"claim": r["c"], "relation": _local(r["rel"]), "subject": r["sl"], "object": r["ol"],
                     "scope": r["scope"], "strength": r["strength"] or "", "certainty": _local(r["cert"]),
                     "confidence": float(r["conf"] or 0), "sentence": " ".join((r["sentence"] or "").split()),
                     "section": r["section"] or "", "document": r["doc"], "collection": coll,
                     "corpus": corpus_of(coll)})
    literature = store.select("SELECT ?rel (COUNT(?c) AS ?n) WHERE { VALUES ?t { mcrag:CausalClaim mcrag:RelationClaim } "
                              "?c a ?t ; rdf:predicate ?rel ; prov:wasDerivedFrom/oa:hasSource/dcterms:source ?coll "
                              "FILTER(?coll != \"iu_xray\") } GROUP BY ?rel")
    runs["literature_claims_by_relation"] = {_local(r["rel"]): int(r["n"] or 0) for r in literature}
    rows.sort(key=lambda x: str(x["claim"]))
    return rows, runs


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"claims": len(rows), "distinct_edges": len({(r["subject"], r["object"]) for r in rows})}
    for corpus in ("MedQuAD", "PubMedQA", "IU-Xray impressions"):
        sel = [r for r in rows if r["corpus"] == corpus]
        out[corpus] = {"claims": len(sel), "distinct_edges": len({(r["subject"], r["object"]) for r in sel}),
                       "by_certainty": dict(Counter(r["certainty"] for r in sel)),
                       "by_relation": dict(Counter(r["relation"] for r in sel))}
    return out


def write_sample(rows: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    sample = random.Random(seed).sample(rows, min(n, len(rows)))
    lines = ["# Chest pathophysiology edges: a random sample judged by hand", "",
             f"{len(sample)} of the {len(rows)} positive causal claims in the chest or cardiopulmonary scope mined from "
             "MedQuAD, PubMedQA and the IU-Xray impressions (`python -m benchmarks.literature_chest_edges "
             f"--sample {n}`, random seed {seed}). An edge is judged **right** when its sentence states that the "
             "subject brings about the object (as a cause, a mechanism or a manifestation), in that direction, and "
             "both ends name what the sentence names; **wrong** otherwise (the reason says which part fails).", "",
             "| # | corpus | sentence | edge | judgement | reason |", "|---|---|---|---|---|---|"]
    for i, r in enumerate(sample, start=1):
        sentence = r["sentence"].replace("|", "/")
        edge = (f"{r['subject']} -{r['relation']}-> {r['object']} ({r['certainty']}"
                f"{', ' + r['strength'] if r['strength'] else ''}; {r['section'] or 'no section'})").replace("|", "/")
        lines.append(f"| {i} | {r['corpus']} | {sentence} | {edge} |  |  |")
    SAMPLE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sample


def score() -> dict[str, Any]:
    rows = [ln for ln in SAMPLE.read_text(encoding="utf-8").splitlines() if re.match(r"^\| \d+ \|", ln)]
    verdicts = [ln.split("|")[5].strip().lower() for ln in rows]
    if any(v not in ("right", "wrong") for v in verdicts):
        raise SystemExit(f"{SAMPLE}: every row needs a judgement 'right' or 'wrong'")
    by_corpus: dict[str, list[int]] = {}
    for ln, v in zip(rows, verdicts, strict=True):
        c = ln.split("|")[2].strip()
        by_corpus.setdefault(c, [0, 0])[0 if v == "right" else 1] += 1
    right = verdicts.count("right")
    return {"judged": len(verdicts), "right": right, "wrong": len(verdicts) - right,
            "precision": round(right / len(verdicts), 4),
            "by_corpus": {c: {"right": a, "wrong": b} for c, (a, b) in by_corpus.items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir")
    ap.add_argument("--model-dir")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--sample", type=int, default=0, help="write a random sample of this many edges to judge")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--score", action="store_true", help="read the judged sample and add its precision")
    args = ap.parse_args(argv)
    command = "python -m benchmarks.literature_chest_edges " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.score:
        result = json.loads(OUT.read_text(encoding="utf-8"))
        result["judged_sample"] = {**score(), "command": command, "table": SAMPLE.name}
        OUT.write_text(json.dumps(result, indent=2), encoding="utf-8")
        say(json.dumps(result["judged_sample"]))
        return 0
    from mcrag.settings import load_settings

    settings = load_settings()
    data = Path(args.data_dir) if args.data_dir else settings.data_dir
    model_dir = Path(args.model_dir) if args.model_dir else settings.models_dir / "literature"
    rows, runs = mine(data, model_dir, args.processes)
    result = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "command": command,
              "models": str(model_dir), "runs": runs, "chest_pathophysiology_edges": summary(rows),
              "definition": "positive mcrag:CausalClaim (a direct edge) with scope chest or cardiopulmonary; from the "
                            "IU-Xray reports only claims read in the impression section"}
    if args.sample:
        sample = write_sample(rows, args.sample, args.seed)
        result["sample"] = {"size": len(sample), "seed": args.seed, "table": SAMPLE.name,
                            "claims": [r["claim"] for r in sample]}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2), encoding="utf-8")
    say(json.dumps(result["chest_pathophysiology_edges"])[:600])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
