"""Regenerate ontologies/starter.ttl from ontologies/starter_claims.csv.

Run after editing the table: ``python scripts/build_starter_graph.py``.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from kg.claims import claim_quads
from kg.namespaces import NAMED_GRAPHS, PREFIXES
from kg.starter import starter_claims


def main() -> None:
    out = Path(__file__).resolve().parent.parent / "ontologies" / "starter.ttl"
    triples = []
    seen = set()
    for claim in starter_claims():
        for q in claim_quads(claim, NAMED_GRAPHS["starter"]):
            t = ox.Triple(q.subject, q.predicate, q.object)
            if t not in seen:
                seen.add(t)
                triples.append(t)
    header = (b"# MCRAG starter graph: curated chest-radiology pathophysiology.\n"
              b"# Generated from starter_claims.csv by scripts/build_starter_graph.py; edit the table, not this file.\n")
    body = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)
    out.write_bytes(header + body)
    print(f"wrote {len(triples)} triples to {out}")


if __name__ == "__main__":
    main()
