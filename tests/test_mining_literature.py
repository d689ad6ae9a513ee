"""The literature miner: candidates, normalisation through the concept table, typed claims with polarity,
strength, scope and provenance; relation claims kept out of the causal graph; training into one folder.

The end-to-end tests train every model on a tiny corpus written from templates (tests/literature_corpus.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kg.claims import CausalClaim, Concept, SourceSpan, claim_quads, write_claims
from kg.mining.classifiers.corpora import Mention
from kg.mining.core.documents import Document
from kg.namespaces import NAMED_GRAPHS
from tests.literature_corpus import write_literature_corpus

FIX = Path(__file__).parent / "fixtures" / "mining"


# ------------------------------------------------------------------ claims that are not causal edges


def _claim(relation: str, *, in_graph: bool, polarity: str = "positive", strength: str | None = "direct") -> CausalClaim:
    span = SourceSpan("d1", "Furosemide relieved the pulmonary edema.", 0, 40, "test")
    return CausalClaim(Concept("https://w3id.org/mcrag/concept/furosemide", "furosemide", "Chemical"),
                       Concept("https://w3id.org/mcrag/concept/pulmonary_edema", "pulmonary edema", "ImagingFinding"),
                       relation=relation, polarity=polarity, span=span, extractor="t",  # type: ignore[arg-type]
                       in_causal_graph=in_graph, strength=strength, scope="cardiopulmonary")


def test_a_treatment_is_a_relation_claim_without_a_direct_edge(memory_store) -> None:
    from kg.check import check_store
    from kg.claim_reader import read_claims

    treats = _claim("treats", in_graph=False)
    cause = _claim("causes", in_graph=True)
    report = write_claims(memory_store, [treats, cause], NAMED_GRAPHS["literature"])
    assert report.written == 2
    assert write_claims(memory_store, [treats, cause], NAMED_GRAPHS["literature"]).written == 0  # idempotent
    types = {r["t"].rsplit("#", 1)[-1] for r in memory_store.select(
        f"SELECT ?t WHERE {{ <{treats.iri}> a ?t }}")}
    assert types == {"RelationClaim"}
    direct = memory_store.select("SELECT ?p WHERE { <https://w3id.org/mcrag/concept/furosemide> ?p "
                                 "<https://w3id.org/mcrag/concept/pulmonary_edema> }")
    assert [r["p"].rsplit("#", 1)[-1] for r in direct] == ["causes"]
    assert [c.relation for c in read_claims(memory_store)] == ["causes"]  # readers of the causal graph see one
    strength = memory_store.select(f"SELECT ?s WHERE {{ <{treats.iri}> mcrag:claimStrength ?s }}")
    assert [r["s"] for r in strength] == ["direct"]
    checked = check_store(memory_store, graphs=[NAMED_GRAPHS["literature"]], owl=False, shacl=True)
    assert checked.conforms, checked.violations


def test_stated_only_kinds_cannot_enter_the_causal_graph_and_strength_is_checked() -> None:
    with pytest.raises(ValueError, match="never a causal edge"):
        _claim("associatedWith", in_graph=True)
    with pytest.raises(ValueError, match="unknown claim strength"):
        _claim("causes", in_graph=True, strength="strong")
    quads = list(claim_quads(_claim("prevents", in_graph=False), NAMED_GRAPHS["literature"]))
    assert not any(str(q.predicate).endswith("#prevents") and str(q.subject).endswith("furosemide") for q in quads)


# ------------------------------------------------------------------ scope


def test_scope_comes_from_the_table_or_the_names() -> None:
    from kg.concepts import as_concept, normalise_id
    from kg.mining.literature.scope import claim_scope, concept_scope

    hf = as_concept(normalise_id("heart_failure"))
    rib = as_concept(normalise_id("fracture"))
    outside = Concept("https://w3id.org/mcrag/concept/x", "coronary heart disease", "Disease")
    general = Concept("https://w3id.org/mcrag/concept/y", "diabetes", "Disease")
    kidney = Concept("https://w3id.org/mcrag/concept/z", "kidney failure", "Disease")
    assert concept_scope(hf) == "cardiopulmonary" and concept_scope(rib) == "chest"
    assert concept_scope(outside) == "cardiopulmonary" and concept_scope(general) == "general"
    assert claim_scope(general, hf) == "cardiopulmonary" and claim_scope(general, kidney) == "general"
    assert claim_scope(rib, general) == "chest"


# ------------------------------------------------------------------ mentions and pairs


def test_one_idea_gets_one_id_and_qualifiers_and_truncations_are_no_concepts() -> None:
    from kg.mining.literature.mentions import canonical_id, qualifier, table_lookup

    assert table_lookup("pleural effusions") == "MESH:D010996" == canonical_id("concept:pleural_effusion")
    assert canonical_id("HP:0002202") == "MESH:D010996"  # an exact id of the same table concept
    assert table_lookup("COPD") == canonical_id("concept:copd")
    assert table_lookup("injury") is None and table_lookup("effusion") is None  # too general in literature
    assert canonical_id("MESH:D003000") == "MESH:D003000"  # outside the table: unchanged
    assert qualifier("acute") and qualifier("Chronic") and not qualifier("pneumonia")


def test_pairs_are_unordered_admissible_and_closest() -> None:
    from kg.mining.classifiers.text_features import parse
    from kg.mining.literature.pairs import admissible, mention_pairs

    text = "Smoking and asbestos cause lung cancer; aspirin and heparin were given. Pneumonia is common."
    doc = parse([text])[0]

    def m(word: str, kind: str) -> Mention:
        i = text.index(word)
        return Mention(i, i + len(word), word, kind, (f"X:{word}",))

    mentions = [m("Smoking", "Exposure"), m("asbestos", "Exposure"), m("lung cancer", "Disease"),
                m("aspirin", "Chemical"), m("heparin", "Chemical"), m("Pneumonia", "Disease")]
    got = [(p.first.text, p.second.text) for p in mention_pairs(doc, mentions)]
    assert got == [("Smoking", "lung cancer"), ("asbestos", "lung cancer"), ("lung cancer", "aspirin"),
                   ("lung cancer", "heparin")]
    assert admissible("Disease", "Disease") and not admissible("Chemical", "Chemical")
    assert not admissible("Exposure", "Intervention")


def test_the_dictionary_adds_table_exposure_and_procedure_terms() -> None:
    import spacy

    from kg.mining.literature.terms import TermMatcher

    nlp = spacy.blank("en")
    matcher = TermMatcher(nlp, None)
    doc = matcher(nlp("Radiotherapy and cigarette smoking cause pleural effusion; a central line was placed; "
                      "the effusion and the injury resolved."))
    got = [(e.text, e.label_, e.kb_id_) for e in doc.ents]
    assert got == [("Radiotherapy", "Intervention", "term:radiation_therapy"),
                   ("cigarette smoking", "Exposure", "concept:tobacco_smoking"),
                   ("pleural effusion", "Disease", "concept:pleural_effusion"),
                   ("central line", "Intervention", "concept:central_venous_catheter")]


# ------------------------------------------------------------------ end to end on a tiny corpus


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kg.mining.literature.training import Settings, train_literature_models

    root = tmp_path_factory.mktemp("lit")
    lit = write_literature_corpus(root)
    out = root / "models"
    manifest = train_literature_models(out, lit, settings=Settings(recogniser_epochs=10, recogniser_width=32,
                                                                   recogniser_embed_size=500))
    assert manifest["models"]["relation_kinds"]["training_pairs"] > 100
    return out


def _doc(doc_id: str, text: str, sections: tuple[tuple[str, int, int], ...] = ()) -> Document:
    return Document(doc_id, text, "test", "abstract", sections=sections)


@pytest.mark.slow
def test_trained_folder_is_complete_and_names_its_parts(tiny_models: Path) -> None:
    import json

    from kg.mining.literature.models import MANIFEST_FILE, missing_files

    assert missing_files(tiny_models) == []
    manifest = json.loads((tiny_models / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert set(manifest["models"]) >= {"recogniser", "relation_kinds", "document_relations", "negation",
                                       "claim_strength", "normaliser"}
    assert manifest["models"]["recogniser"]["width"] == 32


@pytest.mark.slow
def test_miner_reads_kinds_direction_polarity_and_provenance(tiny_models: Path) -> None:
    from kg.mining.literature.miner import LiteratureMiner

    miner = LiteratureMiner(tiny_models)
    text = ("Heart failure overview. Heart failure caused severe pleural effusion in two patients. "
            "Pleural effusion was treated with thoracentesis.")
    at = text.index("Pleural effusion was")
    sections = (("causes", 24, at - 1), ("treatment", at, len(text)))
    (out,) = miner.mine([_doc("hf", text, sections)], datetime(2026, 1, 1, tzinfo=UTC))
    by = {(c.subject.label, c.relation, c.object.label): c for c in out.claims}
    cause = by[("heart failure", "causes", "pleural effusion")]
    assert cause.in_causal_graph and cause.polarity == "positive" and cause.strength == "direct"
    assert cause.certainty == "certain" and cause.scope == "cardiopulmonary"
    assert cause.subject.iri.endswith("/heart_failure") and cause.object.iri.endswith("/pleural_effusion")
    assert cause.span is not None and cause.span.section == "causes"
    assert text[cause.span.start:cause.span.end] == cause.span.sentence == (
        "Heart failure caused severe pleural effusion in two patients.")
    treat = by[("thoracentesis", "treats", "pleural effusion")]
    assert not treat.in_causal_graph and treat.span is not None and treat.span.section == "treatment"


@pytest.mark.slow
def test_document_scorer_decides_chemical_causes_and_treatments_stay_out_of_the_graph(tiny_models: Path) -> None:
    from kg.mining.literature.miner import LiteratureMiner

    miner = LiteratureMiner(tiny_models)
    outs = miner.mine([_doc("a", "Amiodarone induced pneumonitis in two patients."),
                       _doc("b", "The hypotension was treated with naloxone.")])
    a = [(c.subject.label.lower(), c.relation, c.object.label.lower(), c.in_causal_graph) for c in outs[0].claims]
    assert ("amiodarone", "causes", "pneumonitis", True) in a
    b = [(c.relation, c.in_causal_graph) for c in outs[1].claims]
    assert b and all(rel != "causes" and not edge for rel, edge in b)


@pytest.mark.slow
def test_the_miner_reads_with_one_blas_and_openmp_thread_per_worker(tiny_models: Path) -> None:
    from threadpoolctl import threadpool_info

    from kg.mining.literature.miner import LiteratureMiner

    miner = LiteratureMiner(tiny_models)
    seen: list[set[int]] = []
    read = miner.reader.read

    def recording(parsed):  # type: ignore[no-untyped-def]
        seen.append({p["num_threads"] for p in threadpool_info() if p["user_api"] in ("blas", "openmp")})
        return read(parsed)

    miner.reader.read = recording  # type: ignore[method-assign]
    miner.mine([_doc("a", "Amiodarone induced pneumonitis in two patients.")])
    assert seen == [{1}]
    assert LiteratureMiner(tiny_models, threads=2).threads == 2


@pytest.mark.slow
def test_mining_into_the_store_and_the_cli(tiny_models: Path, tmp_path: Path, memory_store,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from typer.testing import CliRunner

    from kg.mining.api import mine_literature
    from mcrag.cli import app, main

    summary = mine_literature(memory_store, FIX / "medquad_page.xml", model_dir=tiny_models)
    assert summary.documents == 1 and summary.claims_added == summary.claims_found
    again = mine_literature(memory_store, FIX / "medquad_page.xml", model_dir=tiny_models)
    assert again.claims_added == 0
    runner = CliRunner()
    res = runner.invoke(app, ["mine", "literature", str(FIX / "medquad_page.xml"), "--model-dir", str(tiny_models),
                              "--dry-run", "--json", "--no-progress"])
    assert res.exit_code == 0, res.output
    with pytest.raises(SystemExit) as stop:
        main(["mine", "literature", str(FIX / "medquad_page.xml"), "--model-dir", str(tmp_path / "none"), "--dry-run"])
    assert stop.value.code == 2 and "train-relations" in capsys.readouterr().err


def test_a_document_cause_takes_the_first_sentence_that_states_it_plainly() -> None:
    """A cause stated plainly in one sentence and as a correlation in a likelier one stays a cause; with no
    plain statement, the likeliest sentence's own reading (association, negation) stands."""
    from kg.mining.classifiers.corpora import Mention
    from kg.mining.literature.reading import Reading, _document_cause

    drug, effect = Mention(0, 4, "drug", "Chemical", ("D1",)), Mention(20, 26, "injury", "Disease", ("D2",))

    def reading(kind: str, negated: bool, strength: str, at: int) -> Reading:
        return Reading("doc", drug, effect, kind, negated, strength, 0.9, (at, at + 10), document_level=True)

    correlational = reading("associated", False, "correlational", 0)
    negated = reading("causes", True, "direct", 50)
    plain = reading("causes", False, "direct", 100)
    assert _document_cause([correlational, negated, plain]) is plain
    assert _document_cause([correlational, negated]) is correlational
    assert _document_cause([negated]) is negated
