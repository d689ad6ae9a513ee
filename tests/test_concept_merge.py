"""Merging two concepts: claims and edges re-pointed in one transaction, recorded with PROV, undone exactly."""

from __future__ import annotations

import io

import pytest

from kg.check import check_skos
from kg.claim_reader import read_claims
from kg.claims import CausalClaim, Concept, SourceSpan, write_claims
from kg.curation.concept_merge import merge_concepts, undo_merge
from kg.errors import CurationConflictError, CurationError
from kg.namespaces import NAMED_GRAPHS
from kg.revisions import read_revisions

C = "https://w3id.org/mcrag/concept/"
DRUG = Concept(C + "mesh_d008094", "lithium", "Chemical", ("MESH:D008094",))
KIDNEY_A = Concept(C + "mesh_d007674", "Kidney Diseases", "Disease", ("MESH:D007674",))
KIDNEY_B = Concept(C + "term_nephrotoxic", "Nephrotoxic", "Disease", ())


def _claim(cause: Concept, effect: Concept, doc: str) -> CausalClaim:
    return CausalClaim(cause, effect, span=SourceSpan(doc, f"{cause.label} causes {effect.label}.", 0, 30, "bc5cdr"),
                       extractor="test")


def _claims_graphs(store) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    store.export(buf, "nquads", graph=NAMED_GRAPHS["literature"])
    return b"\n".join(sorted(buf.getvalue().splitlines()))


def test_merge_repoints_claims_and_edges_and_undo_puts_back_exactly(memory_store) -> None:  # type: ignore[no-untyped-def]
    write_claims(memory_store, [_claim(DRUG, KIDNEY_A, "1"), _claim(DRUG, KIDNEY_B, "2")], NAMED_GRAPHS["literature"])
    before = _claims_graphs(memory_store)
    rec = merge_concepts(memory_store, KIDNEY_B.iri, KIDNEY_A.iri, "ana", "same MeSH heading")
    assert len(rec.claims) == 1
    claims = read_claims(memory_store)
    assert {c.object for c in claims} == {KIDNEY_A.iri}
    moved = next(c for c in claims if c.claim == rec.claims[0])
    assert moved.version == 2
    assert not memory_store.ask(f"ASK {{ GRAPH <{NAMED_GRAPHS['literature']}> {{ ?s ?p <{KIDNEY_B.iri}> }} }}")
    assert memory_store.ask(f"ASK {{ <{DRUG.iri}> mcrag:causes <{KIDNEY_A.iri}> }}")
    assert memory_store.ask(f'ASK {{ <{KIDNEY_A.iri}> skos:altLabel "Nephrotoxic"@en }}')
    assert [r.action for r in read_revisions(memory_store, rec.claims[0])] == ["merge"]
    with pytest.raises(CurationConflictError):
        merge_concepts(memory_store, KIDNEY_B.iri, KIDNEY_A.iri, "ana", "again")
    back = undo_merge(memory_store, rec.activity, "ana", "they differ after all")
    assert back.claims == rec.claims
    assert _claims_graphs(memory_store) == before
    assert not memory_store.ask(f"ASK {{ <{KIDNEY_B.iri}> <http://purl.org/dc/terms/isReplacedBy> ?x }}")
    with pytest.raises(CurationConflictError):
        undo_merge(memory_store, rec.activity, "ana", "twice")


def test_merged_concept_no_longer_counts_as_a_shared_pref_label(memory_store) -> None:  # type: ignore[no-untyped-def]
    twin = Concept(C + "kidney_diseases_2", "Kidney Diseases", "Disease", ())
    write_claims(memory_store, [_claim(DRUG, KIDNEY_A, "1"), _claim(DRUG, twin, "3")], NAMED_GRAPHS["literature"])
    assert any(v.focus_node == twin.iri for v in check_skos(memory_store))
    merge_concepts(memory_store, twin.iri, KIDNEY_A.iri, "ana", "duplicate")
    assert not any(v.focus_node in (twin.iri, KIDNEY_A.iri) for v in check_skos(memory_store))


def test_merge_refuses_bad_requests(memory_store) -> None:  # type: ignore[no-untyped-def]
    write_claims(memory_store, [_claim(DRUG, KIDNEY_A, "1")], NAMED_GRAPHS["literature"])
    with pytest.raises(CurationError, match="no concept"):
        merge_concepts(memory_store, C + "nothing", KIDNEY_A.iri, "ana", "x")
    with pytest.raises(CurationError, match="reason"):
        merge_concepts(memory_store, DRUG.iri, KIDNEY_A.iri, "ana", " ")
    with pytest.raises(CurationConflictError, match="to itself"):
        merge_concepts(memory_store, DRUG.iri, KIDNEY_A.iri, "ana", "would loop")
    assert read_claims(memory_store)[0].subject == DRUG.iri
