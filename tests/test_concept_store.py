"""The concept table in the store: ``kg init`` writes it idempotently, ``kg check`` applies the SKOS rules,
and the normalisation API that the miners call."""

from __future__ import annotations

import pytest

from kg.check import check_skos, check_store
from kg.concepts import ConceptNormaliser, as_concept, is_qualifier, normalise, normalise_id
from kg.namespaces import NAMED_GRAPHS
from kg.ontology import bootstrap

C = "https://w3id.org/mcrag/concept/"


def test_init_writes_the_concept_graph_once_and_leaves_curated_state_alone(memory_store) -> None:  # type: ignore[no-untyped-def]
    bootstrap(memory_store)
    g = NAMED_GRAPHS["concepts"]
    n = memory_store.count(g)
    assert n > 500
    memory_store.update(f"INSERT DATA {{ GRAPH <{NAMED_GRAPHS['curated']}> {{ <{C}x> <{C}p> <{C}y> }} }}")
    curated = memory_store.count(NAMED_GRAPHS["curated"])
    bootstrap(memory_store)
    assert memory_store.count(g) == n and memory_store.count(NAMED_GRAPHS["curated"]) == curated
    rows = memory_store.select(f"""SELECT ?l WHERE {{ GRAPH <{g}> {{ <{C}pulmonary_edema> skos:prefLabel ?l }} }}""")
    assert [r["l"] for r in rows] == ["pulmonary edema"]
    assert memory_store.ask(f"ASK {{ <{C}heart_failure> skos:narrowMatch <http://purl.obolibrary.org/obo/HP_0001635> }}")
    assert not memory_store.ask(f"ASK {{ <{C}heart_failure> skos:exactMatch <http://purl.obolibrary.org/obo/HP_0001635> }}")


def test_a_fresh_store_breaks_no_skos_rule(bootstrapped_store) -> None:  # type: ignore[no-untyped-def]
    bootstrap(bootstrapped_store)
    assert check_skos(bootstrapped_store) == []


def test_skos_rules_name_the_node_at_fault(memory_store) -> None:  # type: ignore[no-untyped-def]
    bootstrap(memory_store)
    memory_store.update(f"""INSERT DATA {{ GRAPH <{NAMED_GRAPHS['literature']}> {{
        <{C}mesh_d007674> a <https://w3id.org/mcrag#Disease> ; skos:prefLabel "Kidney Diseases"@en , "Nephrotoxic"@en .
        <{C}hp_0011009> a <https://w3id.org/mcrag#Disease> ; skos:prefLabel "Acute"@en .
        <{C}other_edema> a <https://w3id.org/mcrag#Disease> ; skos:prefLabel "pulmonary edema"@en .
    }} }}""")
    found = {(v.focus_node.rsplit("/", 1)[-1], v.message) for v in check_skos(memory_store)}
    assert ("mesh_d007674", "more than one skos:prefLabel in one language") in found
    assert ("hp_0011009", "only a qualifier or modifier term, not a concept") in found
    assert ("other_edema", "shares its skos:prefLabel with another concept") in found
    assert ("pulmonary_edema", "shares its skos:prefLabel with another concept") in found
    report = check_store(memory_store, owl=False, shacl=False)
    assert not report.ok and any(v.check == "skos" for v in report.violations)


def test_normaliser_keeps_edema_and_pulmonary_edema_apart_and_rejects_qualifiers() -> None:
    assert normalise("edema", curie="MESH:D004487").id == "edema"  # type: ignore[union-attr]
    assert normalise("Edema", curie="MESH:D011654").id == "pulmonary_edema"  # type: ignore[union-attr]
    assert normalise("Edema").id == "edema"  # type: ignore[union-attr]  (text: not the Open-i key)
    assert normalise("pulmonary oedema").id == "pulmonary_edema"  # type: ignore[union-attr]
    assert normalise(curie="C0034063").id == "pulmonary_edema"  # type: ignore[union-attr]  (a UMLS CUI)
    assert normalise("collapse", curie="MESH:D012769") is None  # an id outside the table decides
    assert normalise("Acute") is None and normalise("position") is None and is_qualifier("chronic")
    assert is_qualifier("Acute", "HP:0011009", qualifier_ids={"HP:0011009"})
    assert normalise_id("Edema").id == "pulmonary_edema" and normalise_id(C + "copd").id == "copd"
    with pytest.raises(KeyError):
        normalise_id("no such thing")


def test_normaliser_gives_an_outside_id_one_label() -> None:
    n = ConceptNormaliser(names={"MESH:D007674": "Kidney Diseases"})
    a = n.concept("MESH:D007674", "nephrotoxic", "Disease")
    b = n.concept("MESH:D007674", "renal injury", "Disease")
    assert a is not None and b is not None and a.label == b.label == "Kidney Diseases" and a.iri == b.iri
    m = ConceptNormaliser()
    x, y = m.concept("MESH:D000001", "first", "Chemical"), m.concept("MESH:D000001", "second", "Chemical")
    assert x is not None and y is not None and x.label == y.label == "first"
    assert m.concept("HP:0011009", "Acute", "Disease") is None
    pe = m.concept("MESH:D011654", "edema", "Disease")
    assert pe == as_concept(normalise_id("pulmonary_edema"))


def test_every_report_miner_key_and_matrix_column_is_one_table_concept() -> None:
    from kg.concepts import FINDINGS, MATRIX_EXTRA_KEYS, default_table
    from kg.mining.reports.lexicon import FINDING_TERMS

    table = default_table()
    keys = {*FINDING_TERMS, *FINDINGS, *MATRIX_EXTRA_KEYS}
    owners = {k: [c.id for c in table if c.vocabulary_key == k] for k in keys}
    assert {k: v for k, v in owners.items() if len(v) != 1} == {}
