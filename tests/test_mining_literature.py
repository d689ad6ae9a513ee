"""Literature pipeline: lexicon, entity matcher, causal patterns, candidates, classifier, claims."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kg.mining.literature.gold_corpora import read_bc5cdr
from kg.mining.literature.lexicon import EntityLexicon, LexEntry, build_lexicon, is_short_form, ontology_terms
from kg.mining.literature.relations import FEATURE_NAMES, Priors, apply_priors, candidates, set_gold_entities

FIX = Path(__file__).parent / "fixtures" / "mining"


@pytest.fixture(scope="module")
def train_docs():
    return read_bc5cdr(FIX / "sample.pubtator", "train")


@pytest.fixture(scope="module")
def lexicon_path(tmp_path_factory, train_docs) -> Path:
    onto = tmp_path_factory.mktemp("onto")
    (onto / "HumanDO_legacy.obo").write_text((FIX / "mini.obo").read_text(encoding="utf-8"), encoding="utf-8")
    (onto / "hp.obo").write_text((FIX / "mini_hp.obo").read_text(encoding="utf-8"), encoding="utf-8")
    lex = build_lexicon(onto, train_docs)
    return lex.save(onto / "lexicon.json")


@pytest.fixture(scope="module")
def miner(lexicon_path):
    from kg.mining.literature.miner import LiteratureMiner

    return LiteratureMiner(lexicon_path)  # no relation model: the pattern fallback


@pytest.fixture(scope="module")
def nlp(miner):
    return miner.nlp


def test_ontology_terms_map_to_mesh_through_xrefs_and_umls() -> None:
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        shutil.copy(FIX / "mini.obo", Path(d) / "HumanDO_legacy.obo")
        shutil.copy(FIX / "mini_hp.obo", Path(d) / "hp.obo")
        terms = ontology_terms(d)
    assert terms["toxic hepatitis"].concept_id == "MESH:D056486"
    assert terms["hepatitis"].concept_id == "MESH:D056486"  # HP -> UMLS C0019158 -> DOID -> MeSH
    assert terms["epileptic seizure"].concept_id == "HP:0001250"  # no MeSH route: keeps its HPO id
    assert "old term" not in terms


def test_lexicon_roundtrip_and_case_sensitive_short_forms(lexicon_path, train_docs) -> None:
    lex = EntityLexicon.load(lexicon_path)
    assert lex.get("clonidine") == lex.get("Clonidine")
    assert lex.get("MTX").concept_id == "MESH:D008727"
    assert lex.get("mtx") is None
    assert lex.get("seizure").concept_id == "MESH:D012640"  # HPO seizure aligned to the corpus's MeSH id
    assert is_short_form("NO") and is_short_form("Mg") and not is_short_form("Manic") and not is_short_form("aspirin")


def test_entity_matcher_and_abbreviations(nlp) -> None:
    doc = nlp("Methotrexate (MTX) was stopped. MTX caused toxic hepatitis.")
    ents = [(e.text, e.label_, e.kb_id_) for e in doc.ents]
    assert ("Methotrexate", "Chemical", "MESH:D008727") in ents
    assert ents.count(("MTX", "Chemical", "MESH:D008727")) == 2
    assert ("toxic hepatitis", "Disease", "MESH:D056486") in ents


@pytest.mark.parametrize(("text", "cause", "effect", "negated", "certainty"), [
    ("Clonidine-induced hypotension was seen.", "Clonidine", "hypotension", False, "certain"),
    ("Hypotension induced by clonidine was seen.", "clonidine", "Hypotension", False, "certain"),
    ("Lithium led to renal failure in rats.", "Lithium", "renal failure", False, "certain"),
    ("Cocaine may cause seizures.", "Cocaine", "seizures", False, "possible"),
    ("Clonidine did not cause bradycardia.", "Clonidine", "bradycardia", True, "certain"),
    ("Renal failure secondary to lithium.", "lithium", "Renal failure", False, "certain"),
])
def test_causal_patterns(nlp, text, cause, effect, negated, certainty) -> None:
    doc = nlp(text)
    hits = [(doc.ents[h.cause].text, doc.ents[h.effect].text, h.negated, h.certainty) for h in doc._.pattern_hits]
    assert (cause, effect, negated, certainty) in hits


def test_no_pattern_for_treatment(nlp) -> None:
    doc = nlp("Naloxone reversed the hypotension.")
    assert not [h for h in doc._.pattern_hits if doc.ents[h.cause].text == "Naloxone"]


def test_candidates_cover_gold_pairs_with_features(nlp, train_docs) -> None:
    doc0 = train_docs[0]
    doc = nlp(doc0.text)
    set_gold_entities(doc, doc0.mentions)
    nlp.get_pipe("mcrag_causal_patterns")(doc)
    cands = {c.key: c for c in candidates(doc, doc0)}
    gold = {(doc0.doc_id, c, e) for c, e in doc0.relations}
    assert gold <= set(cands)
    clon = cands[("9001", "MESH:D003000", "MESH:D007022")]
    f = dict(zip(FEATURE_NAMES, clon.features, strict=True))
    assert f["strong_pattern"] == 1.0 and f["title_both"] == 1.0 and f["cooc_any"] == 1.0
    assert "@CHEMICAL$" in clon.marked and "@DISEASE$" in clon.marked
    assert doc0.text[clon.sentence_start:clon.sentence_end].strip() == clon.sentence
    nal = cands[("9001", "MESH:D009270", "MESH:D007022")]
    assert dict(zip(FEATURE_NAMES, nal.features, strict=True))["treat_between"] == 1.0
    mtx = cands[("9001", "MESH:D008727", "MESH:D012640")]
    assert mtx.polarity == "negative"


def test_priors_are_learned_per_fold(train_docs) -> None:
    pri = Priors.learn(train_docs)
    assert pri.pair[("MESH:D003000", "MESH:D007022")] == 1.0
    assert pri.cause["MESH:D009270"] == 0.0
    from kg.mining.literature.relations import Candidate

    cand = Candidate("d", "MESH:D003000", "MESH:D007022", tuple([0.0] * len(FEATURE_NAMES)), 0, 1, "s", "s")
    (with_p,) = apply_priors([cand], pri)
    assert with_p.features[FEATURE_NAMES.index("prior_pair")] == 1.0
    (without,) = apply_priors([cand], None)
    assert without.features[FEATURE_NAMES.index("prior_pair")] == -1.0


def test_relation_model_trains_calibrates_and_roundtrips(tmp_path: Path) -> None:
    from kg.mining.literature.relation_model import RelationModel, TrainingDoc, train_relation_model
    from kg.mining.literature.relations import Candidate

    rng = np.random.default_rng(0)
    docs = []
    for i in range(40):
        cands, gold = [], set()
        for j in range(6):
            pos = rng.random() < 0.4
            feats = [0.0] * len(FEATURE_NAMES)
            feats[FEATURE_NAMES.index("strong_pattern")] = float(pos and rng.random() < 0.8)
            feats[FEATURE_NAMES.index("cooc_any")] = float(pos or rng.random() < 0.3)
            c = Candidate(f"d{i}", f"C{j}", f"D{j}", tuple(feats), 0, 1, "s", "s @CHEMICAL$ @DISEASE$")
            cands.append(c)
            if pos:
                gold.add(c.key)
        docs.append(TrainingDoc(cands, gold, "synthetic"))
    fake_embed = lambda texts: np.ones((len(texts), 8))  # noqa: E731 - constant embedding, shape only
    model = train_relation_model(docs, embed=fake_embed, folds=4)
    assert 0.0 < model.threshold < 1.0 and model.report["cv_f1"] > 0.6
    conf = model.confidence(docs[0].candidates, fake_embed)
    assert conf.shape == (6,) and ((conf >= 0) & (conf <= 1)).all()
    model.save(tmp_path)
    again = RelationModel.load(tmp_path)
    assert np.allclose(again.confidence(docs[0].candidates, fake_embed), conf)
    with pytest.raises(ValueError, match="needs sentence embeddings"):
        again.confidence(docs[0].candidates)
    with pytest.raises(FileNotFoundError):
        RelationModel.load(tmp_path / "missing")


def test_literature_miner_without_model_uses_patterns_and_keeps_negations(miner, train_docs) -> None:
    from kg.mining.core.documents import Document

    outs = {o.doc_id: o for o in miner.mine([*train_docs, Document("h", "Cocaine may cause seizures.", "t", "abstract")])}
    claims = outs["9001"].claims
    by_pair = {(c.subject.label, c.object.label): c for c in claims}
    clon = next(c for (s, o), c in by_pair.items() if s.lower() == "clonidine" and o == "hypotension")
    assert clon.polarity == "positive" and clon.span.sentence and clon.extractor == "mcrag-literature-miner"
    neg = [c for c in claims if c.polarity == "negative"]
    assert neg and neg[0].object.iri.endswith("mesh_d012640")
    assert [c.certainty for c in outs["h"].claims] == ["possible"]
    assert {c.certainty for c in outs["9003"].claims} == {"certain"}  # the title states it plainly


def test_concepts_reuse_the_vocabulary_for_known_mesh_ids() -> None:
    from kg.concepts import OTHER_CONCEPTS
    from kg.mining.literature.miner import concept_for

    assert concept_for("MESH:D006333", "heart failure", "Disease").iri == OTHER_CONCEPTS["heart_failure"].iri
    c = concept_for("MESH:D003000", "clonidine", "Chemical")
    assert c.kind == "Chemical" and c.mappings == ("MESH:D003000",) and c.iri.endswith("mesh_d003000")
    assert LexEntry("MESH:D1", "x", "Chemical").kind == "Chemical"
