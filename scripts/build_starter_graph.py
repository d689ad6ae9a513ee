"""Regenerate ontologies/starter.ttl from ontologies/starter_claims.csv.

Run after editing the table: ``python scripts/build_starter_graph.py``. ``tests/test_starter_graph.py``
checks that the committed Turtle holds exactly the triples this script would write.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from kg.claims import claim_quads
from kg.namespaces import NAMED_GRAPHS, PREFIXES
from kg.starter import starter_claims

STARTER_TTL = Path(__file__).resolve().parent.parent / "ontologies" / "starter.ttl"


def starter_triples() -> list[ox.Triple]:
    """The triples of every starter claim (and its concepts), each once, in table order."""
    triples: list[ox.Triple] = []
    seen: set[ox.Triple] = set()
    for claim in starter_claims():
        for q in claim_quads(claim, NAMED_GRAPHS["starter"]):
            t = ox.Triple(q.subject, q.predicate, q.object)
            if t not in seen:
                seen.add(t)
                triples.append(t)
    return triples


def main() -> None:
    triples = starter_triples()
    header = (b"# MCRAG starter graph: curated chest-radiology pathophysiology.\n"
              b"# Generated from starter_claims.csv by scripts/build_starter_graph.py; edit the table, not this file.\n")
    body = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)
    STARTER_TTL.write_bytes(header + body)
    print(f"wrote {len(triples)} triples to {STARTER_TTL}")


if __name__ == "__main__":
    main()
