"""Crash safety: kill -9 a writer mid-flight, restart, count committed work lost and half-written.

Each workload runs in a child process that writes to an on-disk store in transactions and appends
the id of every transaction to a journal (fsync'd) only after the store call returned. The parent
kills the child with SIGKILL at a random moment, reopens the store and checks:

* lost: journaled transactions whose data is missing (goal 0);
* half-written: transactions whose data is partly present (goal 0).

Workloads: ``load`` (RDF files through ``Store.load``), ``bulk`` (big files through the journaled
bulk loader), ``claims`` (causal claims with provenance
through ``kg.claims.write_claims``, the write path of the miners), ``curation`` (accept / reject /
edit acts through ``kg.curation``), ``update`` (SPARQL updates the way the service runs them: a trial
run in a worker process, then applied; it also counts trial copies and worker processes the crash
left behind).

    python scripts/reliability_crash.py --trials 20 --workloads load claims curation
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH_TRIPLES = 2000
CLAIMS_PER_BATCH = 50


def _journal(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def child_load(store_dir: Path, journal: Path) -> None:
    from kg.store import open_store

    store = open_store(store_dir)
    b = 0
    while True:
        lines = [f"<urn:batch:{b}:{i}> <urn:p:member> <urn:batch:{b}> ." for i in range(BATCH_TRIPLES)]
        lines.append(f'<urn:batch:{b}> <urn:p:size> "{BATCH_TRIPLES}" .')
        store.load("\n".join(lines).encode(), "ntriples", graph="urn:graph:crash")
        _journal(journal, str(b))
        b += 1


BULK_TRIPLES = 100_000


def child_bulk(store_dir: Path, journal: Path) -> None:
    """Bulk loads (``mcrag kg load --bulk``): each file into its own new graph."""
    from kg.store import open_store

    data = store_dir.parent / "bulk.nt"
    data.write_text("".join(f"<urn:s{i}> <urn:p:member> <urn:o{i % 997}> .\n" for i in range(BULK_TRIPLES)))
    store = open_store(store_dir)
    b = 0
    while True:
        store.load(data, "ntriples", graph=f"urn:bulk:{b}", bulk=True)
        _journal(journal, str(b))
        b += 1


def check_bulk(store_dir: Path, journal: Path) -> dict[str, int]:
    from kg.store import open_store

    committed = {int(x) for x in journal.read_text().split()} if journal.exists() else set()
    with open_store(store_dir) as store:  # opening undoes an interrupted bulk load
        sizes = {g: store.count(g) for g in store.named_graphs() if g.startswith("urn:bulk:")}
    half = sum(1 for n in sizes.values() if n != BULK_TRIPLES)
    lost = sum(1 for b in committed if sizes.get(f"urn:bulk:{b}", 0) != BULK_TRIPLES)
    return {"committed": len(committed), "present": len(sizes), "lost": lost, "half_written": half}


def _claims(b: int) -> list:
    from kg.claims import CausalClaim, Concept, SourceSpan

    out = []
    for i in range(CLAIMS_PER_BATCH):
        s = Concept(f"https://w3id.org/mcrag/concept/crash_cause_{b}_{i}", f"cause {b} {i}", "Exposure")
        o = Concept(f"https://w3id.org/mcrag/concept/crash_effect_{b}_{i}", f"effect {b} {i}", "Disease")
        sentence = f"Cause {b} {i} induces effect {b} {i}."
        out.append(CausalClaim(s, o, confidence=0.7, extractor="crash-test", extractor_version="1",
                               span=SourceSpan(f"doc-{b}", sentence, 0, len(sentence), source="crash")))
    return out


def child_claims(store_dir: Path, journal: Path) -> None:
    from kg.claims import write_claims
    from kg.namespaces import NAMED_GRAPHS
    from kg.store import open_store

    store = open_store(store_dir)
    b = 0
    while True:
        claims = _claims(b)
        write_claims(store, claims, NAMED_GRAPHS["literature"])
        _journal(journal, json.dumps([c.iri for c in claims]))
        b += 1


def child_curation(store_dir: Path, journal: Path) -> None:
    from kg import curation
    from kg.store import open_store

    store = open_store(store_dir)
    claims = [r["c"] for r in store.select("SELECT ?c WHERE { ?c a mcrag:CausalClaim } ORDER BY ?c")]
    rng = random.Random(os.getpid())
    while True:
        iri = rng.choice(claims)
        detail = curation.claim_detail(store, iri)
        action = rng.choice(["accept", "reject", "edit"])
        try:
            if action == "edit":
                rec = curation.edit(store, iri, curator="crash-test", reason="burst", expected_version=detail.version,
                                    certainty=rng.choice(["certain", "probable", "possible"]))
            else:
                rec = getattr(curation, action)(store, iri, curator="crash-test", reason="burst",
                                                expected_version=detail.version)
        except curation.CurationError:
            continue  # e.g. accepting a claim that is already accepted: refused, nothing written
        _journal(journal, json.dumps({"claim": iri, "version": rec.to_version}))


def check_load(store_dir: Path, journal: Path) -> dict[str, int]:
    from kg.store import open_store

    committed = {int(x) for x in journal.read_text().split()} if journal.exists() else set()
    with open_store(store_dir) as store:
        rows = store.select("SELECT ?b (COUNT(?m) AS ?n) WHERE { GRAPH <urn:graph:crash> { ?m <urn:p:member> ?b } } GROUP BY ?b")
        sized = {r["b"] for r in store.select("SELECT ?b WHERE { GRAPH <urn:graph:crash> { ?b <urn:p:size> ?s } }")}
    present = {int((r["b"] or "").rsplit(":", 1)[1]): int(r["n"] or 0) for r in rows}
    half = sum(1 for b, n in present.items() if n != BATCH_TRIPLES or f"urn:batch:{b}" not in sized)
    lost = sum(1 for b in committed if present.get(b, 0) == 0)
    return {"committed": len(committed), "present": len(present), "lost": lost, "half_written": half}


_CLAIM_PARTS = """
SELECT ?c (COUNT(DISTINCT ?part) AS ?n) WHERE {
  ?c a mcrag:CausalClaim .
  { ?c rdf:subject ?x BIND("s" AS ?part) } UNION { ?c rdf:object ?x BIND("o" AS ?part) }
  UNION { ?c mcrag:status ?x BIND("st" AS ?part) } UNION { ?c prov:wasGeneratedBy ?x BIND("act" AS ?part) }
  UNION { ?c prov:wasDerivedFrom/oa:hasSelector/oa:start ?x BIND("off" AS ?part) }
  UNION { ?c mcrag:sentence ?x BIND("sent" AS ?part) }
} GROUP BY ?c"""


def check_claims(store_dir: Path, journal: Path) -> dict[str, int]:
    from kg.store import open_store

    committed: set[str] = set()
    if journal.exists():
        for line in journal.read_text().splitlines():
            committed.update(json.loads(line))
    with open_store(store_dir) as store:
        parts = {r["c"]: int(r["n"] or 0) for r in store.select(_CLAIM_PARTS)}
    half = sum(1 for n in parts.values() if n != 6)
    lost = sum(1 for c in committed if c not in parts)
    return {"committed": len(committed), "present": len(parts), "lost": lost, "half_written": half}


def check_curation(store_dir: Path, journal: Path) -> dict[str, int]:
    from kg import curation
    from kg.store import open_store

    acts: dict[str, int] = {}
    n_acts = 0
    if journal.exists():
        for line in journal.read_text().splitlines():
            rec = json.loads(line)
            acts[rec["claim"]] = max(acts.get(rec["claim"], 0), rec["version"])
            n_acts += 1
    lost = half = 0
    with open_store(store_dir) as store:
        for iri, version in acts.items():
            detail = curation.claim_detail(store, iri)
            if detail.version < version:
                lost += 1
            trail = curation.history(store, iri)
            # every version bump must have exactly one curation activity behind it
            if len(trail) != detail.version - 1:
                half += 1
        statuses = store.select("SELECT ?c (COUNT(?s) AS ?n) WHERE { ?c a mcrag:CausalClaim ; mcrag:status ?s } "
                                "GROUP BY ?c HAVING (COUNT(?s) != 1)")
        half += len(statuses)
    return {"committed": n_acts, "present": len(acts), "lost": lost, "half_written": half}


UPDATE_TRIPLES = 500


def child_update(store_dir: Path, journal: Path) -> None:
    from kg.store import open_store
    from kg.store.sandbox import QuerySandbox, SandboxLimits

    store = open_store(store_dir)
    sandbox = QuerySandbox(store, SandboxLimits(workers=1))  # type: ignore[arg-type]
    b = 0
    while True:
        triples = " ".join(f"<urn:s:{b}:{i}> <urn:p> {i} ." for i in range(UPDATE_TRIPLES))
        sandbox.update(f"INSERT DATA {{ GRAPH <urn:batch:{b}> {{ {triples} }} }}", timeout=60)
        _journal(journal, str(b))
        b += 1


def check_update(store_dir: Path, journal: Path) -> dict[str, object]:
    import psutil

    from kg.store import open_store
    from kg.store.sandbox import QuerySandbox, SandboxLimits

    done = [int(x) for x in journal.read_text().split()] if journal.exists() else []
    deadline = time.monotonic() + 5  # workers see their pipe close and leave
    orphans: list[psutil.Process] = []
    while time.monotonic() < deadline:
        orphans = [p for p in psutil.process_iter(["cmdline"])
                   if "kg.store.sandbox_worker" in " ".join(p.info["cmdline"] or []) and p.ppid() == 1]
        if not orphans:
            break
        time.sleep(0.2)
    lost = half = 0
    with open_store(store_dir) as store:
        sizes = dict(store.iter_graph_sizes())
        for b in done:
            if sizes.get(f"urn:batch:{b}", 0) != UPDATE_TRIPLES:
                lost += 1
        half = sum(1 for g, n in sizes.items() if g.startswith("urn:batch:") and n != UPDATE_TRIPLES)
        QuerySandbox(store, SandboxLimits(workers=1)).close()  # opening the service's sandbox clears old trials  # type: ignore[arg-type]
    left = list(store_dir.parent.glob(f".{store_dir.name}.trial-*"))
    return {"committed": len(done), "present": len(sizes), "lost": lost, "half_written": half,
            "trial_copies_left": len(left), "orphan_workers": len(orphans)}


def seed_curation_store(store_dir: Path) -> None:
    from kg.ontology import bootstrap
    from kg.store import open_store

    with open_store(store_dir) as store:
        bootstrap(store)


WORKLOADS = {
    "load": (child_load, check_load, None),
    "bulk": (child_bulk, check_bulk, None),
    "claims": (child_claims, check_claims, None),
    "curation": (child_curation, check_curation, seed_curation_store),
    "update": (child_update, check_update, None),
}


def run_trials(workload: str, trials: int, seed: int) -> dict[str, object]:
    _, check, seed_fn = WORKLOADS[workload]
    rng = random.Random(seed)
    totals = {"committed": 0, "lost": 0, "half_written": 0}
    if workload == "update":
        totals |= {"trial_copies_left": 0, "orphan_workers": 0}
    per_trial = []
    for t in range(trials):
        with tempfile.TemporaryDirectory() as tmp:
            store_dir, journal = Path(tmp) / "store", Path(tmp) / "journal"
            if seed_fn:
                seed_fn(store_dir)
            proc = subprocess.Popen([sys.executable, __file__, "_child", workload, str(store_dir), str(journal)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            # wait until the child has committed something, then kill it at a random moment
            deadline = time.monotonic() + 60
            while not journal.exists() and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.05, 3.0 if workload == "bulk" else 1.5))
            if proc.poll() is not None:
                raise RuntimeError(f"{workload} child died on its own: {proc.stderr.read().decode()[-2000:]}")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            result = check(store_dir, journal)
            per_trial.append(result)
            for k in totals:
                totals[k] += int(result[k])
            print(f"{workload} trial {t + 1}/{trials}: {result}", flush=True)
    return {"workload": workload, "trials": trials, **totals, "per_trial": per_trial}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        workload, store_dir, journal = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
        WORKLOADS[workload][0](store_dir, journal)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "results" / "reliability_crash.json")
    args = ap.parse_args()
    results = [run_trials(w, args.trials, args.seed) for w in args.workloads]
    payload = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": f"{os.cpu_count()} cores",
               "command": "python " + " ".join(sys.argv), "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1))
    for r in results:
        print(f"{r['workload']}: {r['trials']} trials, {r['committed']} committed, lost {r['lost']}, "
              f"half-written {r['half_written']}")


if __name__ == "__main__":
    main()
