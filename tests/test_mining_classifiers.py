"""The literature classifiers on tiny fixtures: readers, features, models, save / load, composition."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.mining.classifiers.corpora import (
    Abstract,
    Mention,
    Relation,
    read_claim_strength,
    read_negex,
    read_pubtator,
    stratified_split,
)

# ------------------------------------------------------------------ readers


def test_claim_strength_reader_maps_the_four_classes(tmp_path: Path) -> None:
    f = tmp_path / "yu.csv"
    f.write_text('sentence,label\n"A, then B.",0\nX causes Y.,1\nX may cause Y.,2\nX is linked to Y.,3\n',
                 encoding="utf-8")
    rows = read_claim_strength(f)
    assert [r.label for r in rows] == ["none", "direct", "conditional", "correlational"]
    assert rows[0].text == "A, then B."


def test_claim_strength_reader_names_a_bad_label(tmp_path: Path) -> None:
    f = tmp_path / "yu.csv"
    f.write_text("sentence,label\nX causes Y.,7\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"yu.csv:2: label must be 0-3"):
        read_claim_strength(f)


def test_negex_reader_keeps_negated_and_affirmed_rows(tmp_path: Path) -> None:
    f = tmp_path / "negex.txt"
    f.write_text("line\tCondition\tsentence\tnegation_status\ttemporality\texperiencer\n"
                 "1\tedema\tNo peripheral EDEMA.\tNegated\tRecent\tPatient\n"
                 "2\tcough\tShe has a cough.\tAffirmed\tRecent\tPatient\n"
                 "3\tfever\tPossible fever.\tPossible\tRecent\tPatient\n", encoding="utf-8")
    rows = read_negex(f)
    assert [(r.condition, r.negated) for r in rows] == [("edema", True), ("cough", False)]


def test_pubtator_reader_reads_biored_relations_with_curies(tmp_path: Path) -> None:
    f = tmp_path / "b.PubTator"
    f.write_text("1|t|Aspirin and asthma.\n1|a|Aspirin worsened asthma in TP53 carriers.\n"
                 "1\t0\t7\tAspirin\tChemicalEntity\tD001241\n"
                 "1\t12\t18\tasthma\tDiseaseOrPhenotypicFeature\tD001249\n"
                 "1\t51\t55\tTP53\tGeneOrGeneProduct\t7157\n"
                 "1\tPositive_Correlation\tD001241\tD001249\tNovel\n"
                 "1\tAssociation\t7157\tD001249\tNo\n\n"
                 "2|t|Second.\n2|a|\n", encoding="utf-8")
    docs = read_pubtator(f)
    assert [d.pmid for d in docs] == ["1", "2"]
    d = docs[0]
    assert d.text.startswith("Aspirin and asthma. Aspirin worsened")
    assert d.mentions[0] == Mention(0, 7, "Aspirin", "Chemical", ("MESH:D001241",))
    assert d.mentions[2].ids == ("Gene:7157",)
    assert d.relations == (Relation("Positive_Correlation", "MESH:D001241", "MESH:D001249", True),
                           Relation("Association", "Gene:7157", "MESH:D001249", False))


def test_stratified_split_is_fixed_disjoint_and_keeps_shares() -> None:
    labels = ["a"] * 80 + ["b"] * 20
    tr, te = stratified_split(labels, 0.25, seed=3)
    assert (tr, te) == stratified_split(labels, 0.25, seed=3)
    assert set(tr).isdisjoint(te) and len(tr) + len(te) == 100
    assert sum(labels[i] == "b" for i in te) == 5 and len(te) == 25
    assert stratified_split(labels, 0.25, seed=4)[1] != te


# ------------------------------------------------------------------ claim strength

_STRENGTH_TEMPLATES = {
    "direct": ["{a} reduced {b} in adults.", "{a} increases the {b}.", "{a} caused {b} in mice.",
               "{a} improved {b} significantly."],
    "conditional": ["{a} may reduce {b} in adults.", "{a} might increase the {b}.",
                    "{a} could cause {b} in mice.", "Our results suggest that {a} may improve {b}."],
    "correlational": ["{a} was associated with {b} in adults.", "{a} correlated with the {b}.",
                      "{a} was linked to higher {b}.", "{a} is associated with lower {b}."],
    "none": ["{a} was measured in {b} cohorts.", "We describe {a} and {b} in detail.",
             "The {a} protocol for {b} is feasible.", "{a} and {b} were recorded at baseline."],
}
_NOUNS = [("statin use", "mortality"), ("exercise", "glycemia"), ("smoking", "lung function"),
          ("vitamin D", "fracture risk"), ("caffeine", "sleep quality"), ("aspirin", "bleeding")]


def _strength_rows(nouns: list[tuple[str, str]]) -> list:
    from kg.mining.classifiers.corpora import StrengthSentence

    return [StrengthSentence(t.format(a=a, b=b), label) for label, ts in _STRENGTH_TEMPLATES.items()
            for t in ts for a, b in nouns]


def test_claim_strength_learns_wording_and_survives_save_and_load(tmp_path: Path) -> None:
    from kg.mining.classifiers.claim_strength import ClaimStrengthModel, train_claim_strength

    model = train_claim_strength(_strength_rows(_NOUNS[:5]), c_grid=(1.0,), folds=3)
    assert model.report["training_sentences"] == 80
    held = [("Metformin may reduce weight in adults.", "conditional"),
            ("Metformin was associated with weight in adults.", "correlational"),
            ("Metformin reduced weight in adults.", "direct"),
            ("Metformin and weight were recorded at baseline.", "none")]
    preds = model.predict([s for s, _ in held])
    assert [p.label for p in preds] == [g for _, g in held]
    assert all(abs(sum(p for _, p in x.probabilities) - 1) < 1e-3 for x in preds)
    model.save(tmp_path / "cs")
    again = ClaimStrengthModel.load(tmp_path / "cs")
    assert [p.probabilities for p in again.predict([s for s, _ in held])] == [p.probabilities for p in preds]


def test_claim_strength_refuses_a_single_class() -> None:
    from kg.mining.classifiers.claim_strength import train_claim_strength
    from kg.mining.classifiers.corpora import StrengthSentence

    with pytest.raises(ValueError, match="two classes"):
        train_claim_strength([StrengthSentence("X causes Y.", "direct")] * 5)


# ------------------------------------------------------------------ negation


def _negation_rows() -> list:
    from kg.mining.classifiers.corpora import NegationExample

    conds = ["edema", "effusion", "pneumothorax", "consolidation", "cardiomegaly", "nodule", "fever", "cough"]
    rows = []
    for c in conds:
        rows += [NegationExample(c, f"There is no {c}.", True),
                 NegationExample(c, f"The patient denies {c}.", True),
                 NegationExample(c, f"Free of {c} today.", True),
                 NegationExample(c, f"There is a small {c}.", False),
                 NegationExample(c, f"Mild {c} is present.", False),
                 NegationExample(c, f"The {c} has increased.", False)]
    return rows


def test_negation_model_learns_a_cue_the_rules_lack(tmp_path: Path) -> None:
    from kg.mining.classifiers.negation import NegationModel, Target, rule_baseline, train_negation

    model = train_negation(_negation_rows(), c=10.0)
    held = [Target.of("Free of atelectasis today.", "atelectasis"),
            Target.of("There is no atelectasis.", "atelectasis"),
            Target.of("There is a small atelectasis.", "atelectasis")]
    preds = model.predict(held)
    assert [p.negated for p in preds] == [True, True, False]
    assert rule_baseline(held[1:]) == [True, False]
    model.save(tmp_path / "neg")
    assert [p.probability for p in NegationModel.load(tmp_path / "neg").predict(held)] == [p.probability for p in preds]


def test_targets_of_one_sentence_share_a_context_run_with_the_same_result() -> None:
    from kg.mining.classifiers.negation import Target, context_features, context_features_many

    sentence = "No edema, but a large effusion and mild edema of the legs."
    targets = [Target(sentence, 3, 8), Target(sentence, 22, 30), Target(sentence, 40, 45), Target(sentence, 3, 8)]
    together = context_features_many(targets)
    alone = [context_features(t) for t in targets]
    assert [r for r, _ in together] == [True, False, False, True]
    assert [(r, list(f)) for r, f in together] == alone


def test_negation_target_falls_back_to_the_whole_sentence() -> None:
    from kg.mining.classifiers.negation import Target

    assert Target.of("No acute disease.", "edema") == Target("No acute disease.", 0, 17)
    assert Target.of("Mild EDEMA.", "edema") == Target("Mild EDEMA.", 5, 10)


# ------------------------------------------------------------------ pair features


def _pair(sentence: str, a: str, b: str):  # noqa: ANN202
    from kg.mining.classifiers.text_features import parse

    doc = parse([sentence])[0]
    i, j = sentence.find(a), sentence.find(b)
    return doc.char_span(i, i + len(a)), doc.char_span(j, j + len(b))


def test_dependency_path_joins_subject_and_agent() -> None:
    from kg.mining.classifiers.pair_features import dependency_path

    a, b = _pair("Hepatitis was caused by isoniazid.", "Hepatitis", "isoniazid")
    arcs, nodes = dependency_path(a.root, b.root)
    assert arcs == ["nsubjpass^", "cause", "vagent", "vpobj"]
    assert [t.text for t in nodes] == ["caused", "by"]


def test_path_negation_and_hedges_are_read_from_the_parse() -> None:
    from kg.mining.classifiers.pair_features import pair_hedged, path_negated

    assert path_negated(*_pair("Metformin did not cause lactic acidosis.", "Metformin", "lactic acidosis"))
    assert path_negated(*_pair("Lisinopril failed to induce angioedema.", "Lisinopril", "angioedema"))
    assert not path_negated(*_pair("Metformin caused lactic acidosis.", "Metformin", "lactic acidosis"))
    assert pair_hedged(*_pair("Amiodarone may cause fibrosis.", "Amiodarone", "fibrosis"))
    assert pair_hedged(*_pair("Sirolimus is a suspected cause of pneumonitis.", "Sirolimus", "pneumonitis"))
    assert not pair_hedged(*_pair("Amiodarone caused fibrosis.", "Amiodarone", "fibrosis"))


def test_pair_features_name_no_entity_type() -> None:
    from kg.mining.classifiers.relation_kinds import features_of

    feats = features_of(*_pair("Cocaine caused seizures.", "Cocaine", "seizures"))
    assert "Chemical" not in feats and "Disease" not in feats
    assert "BW_cause" in feats.split()


# ------------------------------------------------------------------ relation kinds

_CAUSE_FWD = ["{c} induced {d} in two patients.", "{c} caused severe {d}.", "{c} led to {d} in rats."]
_CAUSE_REV = ["{d} was induced by {c} in two patients.", "{d} caused by {c} was severe.",
              "{d} due to {c} resolved."]
_TREAT = ["{d} was treated with {c}.", "{c} relieved the {d} within hours.", "{c} is effective therapy for {d}."]
_NONE = ["{c} levels and {d} were recorded.", "Patients with {d} and {c} use were enrolled."]
_CHEMS = ["cocaine", "lithium", "heparin", "cisplatin", "propofol", "warfarin", "nicotine", "digoxin"]
_DISEASES = ["seizures", "hypotension", "nephrotoxicity", "bradycardia", "hepatitis", "anemia", "fever", "rash"]


def _abstract(pmid: str, sentence: str, chem: str, dis: str, relation: str | None) -> Abstract:
    i, j = sentence.find(chem), sentence.find(dis)
    mentions = (Mention(i, i + len(chem), chem, "Chemical", (f"MESH:C{pmid}",)),
                Mention(j, j + len(dis), dis, "Disease", (f"MESH:D{pmid}",)))
    rels = (Relation(relation, f"MESH:C{pmid}", f"MESH:D{pmid}"),) if relation else ()
    return Abstract(pmid, sentence, 0, mentions, rels)


def _synthetic_abstracts() -> list[Abstract]:
    out = []
    n = 0
    for k, (c, d) in enumerate(zip(_CHEMS, _DISEASES, strict=True)):
        for templates, rel in ((_CAUSE_FWD, "CID"), (_CAUSE_REV, "CID"), (_TREAT, None), (_NONE, None)):
            for t in templates:
                n += 1
                out.append(_abstract(f"{n:04d}", t.format(c=c.capitalize() if t.startswith("{c}") else c,
                                                          d=d.capitalize() if t.startswith("{d}") else d),
                                     c.capitalize() if t.startswith("{c}") else c,
                                     d.capitalize() if t.startswith("{d}") else d, rel))
        del k
    return out


def test_bc5cdr_examples_label_direction_and_weak_treatments() -> None:
    from kg.mining.classifiers.relation_kinds import bc5cdr_examples

    docs = [_abstract("1", "Cocaine induced seizures.", "Cocaine", "seizures", "CID"),
            _abstract("2", "Seizures were induced by cocaine.", "cocaine", "Seizures", "CID"),
            _abstract("3", "Seizures were treated with lorazepam.", "lorazepam", "Seizures", None),
            _abstract("4", "Cocaine and seizures were recorded.", "Cocaine", "seizures", None)]
    assert [e.label for e in bc5cdr_examples(docs)] == ["causes>", "causes<", "treats<", "none"]


def test_relation_kind_model_reads_direction_and_kind_from_wording(tmp_path: Path) -> None:
    from kg.mining.classifiers.relation_kinds import RelationKindModel, bc5cdr_examples, train_relation_kinds

    examples = bc5cdr_examples(_synthetic_abstracts())
    model = train_relation_kinds(examples, c_grid=(1.0,), folds=2)
    assert set(model.report["cv_kind_macro_f1"]) == {"1.0"}
    # unseen names; a disease -> finding pair worded like the drug -> disease ones
    pairs = [_pair("Heart failure caused severe pleural effusion.", "Heart failure", "pleural effusion"),
             _pair("Pleural effusion due to heart failure resolved.", "Pleural effusion", "heart failure"),
             _pair("Atelectasis was treated with bronchoscopy.", "Atelectasis", "bronchoscopy")]
    preds = model.predict(pairs)
    assert [(p.kind, p.subject_first) for p in preds] == [("causes", True), ("causes", False), ("treats", False)]
    model.save(tmp_path / "rk")
    assert RelationKindModel.load(tmp_path / "rk").predict(pairs) == preds


def test_claim_kind_and_strength_rules() -> None:
    from kg.mining.classifiers.pair_claims import claim_strength_for

    assert claim_strength_for("causes", "direct") == ("causes", "direct")
    assert claim_strength_for("causes", "direct", hedged=True) == ("causes", "conditional")
    assert claim_strength_for("causes", "conditional") == ("causes", "conditional")
    assert claim_strength_for("causes", "correlational") == ("associated", "correlational")
    assert claim_strength_for("associated", "direct") == ("associated", "correlational")
    assert claim_strength_for("none", "direct") == ("none", "none")
    assert claim_strength_for("treats", "none") == ("treats", "direct")


def test_a_causal_edge_needs_a_likely_direct_positive_cause() -> None:
    from kg.mining.classifiers.pair_claims import EDGE_MIN_CONFIDENCE, PairClaim

    a, b = _pair("Lithium caused hypotension.", "Lithium", "hypotension")
    claim = PairClaim(a, b, "causes", False, "direct", EDGE_MIN_CONFIDENCE, 0.9)
    assert claim.is_certain_positive_cause
    assert not PairClaim(a, b, "causes", False, "direct", EDGE_MIN_CONFIDENCE - 0.01, 0.9).is_certain_positive_cause
    assert not PairClaim(a, b, "causes", True, "direct", 0.9, 0.9).is_certain_positive_cause
    assert not PairClaim(a, b, "causes", False, "conditional", 0.9, 0.9).is_certain_positive_cause
    assert not PairClaim(a, b, "treats", False, "direct", 0.9, 0.9).is_certain_positive_cause


def test_pair_claim_reader_combines_kind_negation_and_strength(tmp_path: Path) -> None:
    from kg.mining.classifiers.claim_strength import train_claim_strength
    from kg.mining.classifiers.negation import train_negation
    from kg.mining.classifiers.pair_claims import PairClaimReader
    from kg.mining.classifiers.relation_kinds import bc5cdr_examples, train_relation_kinds

    reader = PairClaimReader(train_relation_kinds(bc5cdr_examples(_synthetic_abstracts()), c_grid=(1.0,), folds=2),
                             train_negation(_negation_rows(), c=10.0),
                             train_claim_strength(_strength_rows(_NOUNS), c_grid=(1.0,), folds=3))
    reader.save(tmp_path / "models")
    reader = PairClaimReader.load(tmp_path / "models")
    fact, negated, hedged = reader.read([
        _pair("Lithium caused severe hypotension.", "Lithium", "hypotension"),
        _pair("Lithium did not cause hypotension.", "Lithium", "hypotension"),
        _pair("Lithium may cause hypotension.", "Lithium", "hypotension")])
    assert fact.kind == "causes" and fact.subject.text == "Lithium" and fact.is_certain_positive_cause
    pairs = [_pair("Lithium caused severe hypotension.", "Lithium", "hypotension")]
    assert reader.read(pairs, reader.relations.predict(pairs))[0].kind == "causes"
    with pytest.raises(ValueError, match="0 kind predictions for 1 pairs"):
        reader.read(pairs, [])
    assert negated.negated and not negated.is_certain_positive_cause
    assert hedged.strength == "conditional" and not hedged.is_certain_positive_cause


# ------------------------------------------------------------------ normaliser


def test_normaliser_expands_abbreviations_and_keeps_unknown_names_together() -> None:
    from kg.mining.classifiers.normalise import ConceptNormalizer
    from kg.mining.classifiers.text_features import parse

    norm = ConceptNormalizer({"methotrexate": ("MESH:D008727", "Chemical")})
    text = "Methotrexate (MTX) and zorbazine were given; MTX and zorbazine caused rash."
    doc = parse([text])[0]
    spans = []
    for word, kind in (("Methotrexate", "Chemical"), ("MTX", "Chemical"), ("zorbazine", "Chemical")):
        start = 0
        while (i := text.find(word, start)) >= 0:
            spans.append(doc.char_span(i, i + len(word), label=kind))
            start = i + 1
    spans.sort(key=lambda s: s.start)
    ids = [(m.text, m.ids[0]) for m in norm.normalise(doc, spans)]
    assert ids == [("Methotrexate", "MESH:D008727"), ("MTX", "MESH:D008727"), ("zorbazine", "TEXT:zorbazine"),
                   ("MTX", "MESH:D008727"), ("zorbazine", "TEXT:zorbazine")]


def test_normaliser_from_corpora_takes_the_most_frequent_id() -> None:
    from kg.mining.classifiers.normalise import ConceptNormalizer

    a = Abstract("1", "x", 0, (Mention(0, 1, "Aspirin", "Chemical", ("MESH:A",)),
                               Mention(0, 1, "aspirin", "Chemical", ("MESH:A",)),
                               Mention(0, 1, "aspirin", "Chemical", ("MESH:B",))), ())
    norm = ConceptNormalizer.from_corpora([a], {"asa": ("MESH:A", "Chemical"), "aspirin": ("MESH:Z", "Chemical")})
    assert norm.lookup("ASPIRIN") == "MESH:A"
    assert norm.lookup("aspirins") == "MESH:A"
    assert norm.lookup("ASA", "Chemical") == "MESH:A"
    assert norm.lookup("ASA", "Disease") is None


# ------------------------------------------------------------------ document scorer


def test_document_scorer_trains_scores_and_round_trips(tmp_path: Path) -> None:
    from kg.mining.classifiers.document_relations import (
        DOC_FEATURES,
        DocumentRelationScorer,
        train_document_scorer,
    )
    from kg.mining.classifiers.relation_kinds import bc5cdr_examples
    from kg.mining.classifiers.text_features import parse

    abstracts = _synthetic_abstracts()
    docs = parse([a.text for a in abstracts])
    scorer = train_document_scorer(abstracts, docs, bc5cdr_examples(abstracts, docs), folds=2, c=1.0)
    assert 0.05 <= scorer.threshold < 0.95
    assert scorer.report["gold_pairs"] == 48 and scorer.report["cv_f1"] > 0.7
    cands = scorer.candidates(abstracts[0].pmid, 0, docs[0], abstracts[0].mentions)
    assert len(cands) == 1 and len(cands[0].features) == len(DOC_FEATURES)
    assert cands[0].evidence == (0, len(abstracts[0].text))
    scorer.save(tmp_path / "doc")
    again = DocumentRelationScorer.load(tmp_path / "doc")
    assert list(again.score(cands)) == list(scorer.score(cands))


# ------------------------------------------------------------------ recogniser


def test_recogniser_trains_saves_and_runs_as_a_registered_factory(tmp_path: Path) -> None:
    import spacy

    from kg.mining.classifiers.entity_recognizer import EntityRecognizer, train_entity_recognizer

    abstracts = [a for a in _synthetic_abstracts()]
    out = train_entity_recognizer(abstracts, tmp_path / "ner", epochs=12, embed_size=500, width=32, depth=2)
    rec = EntityRecognizer(out)
    assert rec.meta["training_abstracts"] == len(abstracts)
    found = rec.recognise(["Cisplatin induced nephrotoxicity in two patients."])[0]
    assert [(m.text, m.kind) for m in found] == [("Cisplatin", "Chemical"), ("nephrotoxicity", "Disease")]
    nlp = spacy.blank("en")
    nlp.add_pipe("mcrag_entity_recognizer", config={"model_path": str(out)})
    doc = nlp("Cisplatin induced nephrotoxicity in two patients.")
    assert [(e.text, e.label_) for e in doc.ents] == [("Cisplatin", "Chemical"), ("nephrotoxicity", "Disease")]


def test_recogniser_load_names_a_missing_folder(tmp_path: Path) -> None:
    from kg.mining.classifiers.entity_recognizer import EntityRecognizer

    with pytest.raises(FileNotFoundError, match="no entity recogniser"):
        EntityRecognizer(tmp_path / "absent")


def test_loading_the_wrong_model_kind_is_refused(tmp_path: Path) -> None:
    from kg.mining.classifiers.claim_strength import ClaimStrengthModel
    from kg.mining.classifiers.negation import NegationModel, train_negation

    train_negation(_negation_rows(), c=1.0).save(tmp_path)
    (tmp_path / "claim_strength.pkl").write_bytes((tmp_path / "negation.pkl").read_bytes())
    with pytest.raises(ValueError, match="does not hold a ClaimStrengthModel"):
        ClaimStrengthModel.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="no NegationModel"):
        NegationModel.load(tmp_path / "none")
