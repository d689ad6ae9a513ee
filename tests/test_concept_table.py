"""The chest concept table: integrity without data, the known wrong ids, and (shared_data) every id vs the OBO files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from kg.concept_checks import integrity_problems, obo_problems, qualifier_ids, read_obo
from kg.concept_graph import concept_triples
from kg.concepts import (
    QUALIFIER_TERMS,
    TIERS,
    ConceptTableError,
    load_concept_table,
    normalise_label,
)

TABLE = load_concept_table()
NEWER_THAN_SHIPPED_DO = {"DOID:0080600"}  # COVID-19 entered the Disease Ontology after the 2015 release


def test_table_is_sound() -> None:
    assert integrity_problems(TABLE) == []
    assert 60 <= len(TABLE) <= 80
    assert {c.tier for c in TABLE} == set(TIERS)


def test_one_pref_label_per_language_and_unique_ids() -> None:
    ids = [c.id for c in TABLE]
    assert len(ids) == len(set(ids))
    labels = [normalise_label(c.label) for c in TABLE]
    assert len(labels) == len(set(labels))
    for c in TABLE:
        assert list(c.pref_labels) == ["en"]
        assert normalise_label(c.label) not in QUALIFIER_TERMS


def test_known_wrong_ids_are_fixed() -> None:
    opacity = TABLE["lung_opacity"]
    assert "HP:0031460" not in opacity.ids()  # HP:0031460 is "Benign muscle neoplasm"
    assert opacity.ids("exactMatch", "HP") == ("HP:0031457",)  # "Pulmonary opacity"
    consolidation = TABLE["consolidation"]
    assert consolidation.ids("exactMatch", "HP") == ("HP:0032177",)  # "Parenchymal consolidation"
    assert "HP:0031457" not in consolidation.ids()
    assert "MESH:D006984" not in TABLE["fluid_overload"].ids()  # MeSH "Hypertrophy"
    hf = TABLE["heart_failure"]
    assert "HP:0001635" in hf.ids("narrowMatch") and "DOID:6000" in hf.ids("narrowMatch")  # congestive HF
    assert not set(hf.ids("exactMatch")) & {"HP:0001635", "DOID:6000"}


def test_pulmonary_edema_and_edema_are_two_concepts() -> None:
    assert TABLE.lookup("edema").id == "edema"
    assert TABLE.lookup("Pulmonary Edema").id == "pulmonary_edema"
    assert TABLE.lookup("pulmonary oedema").id == "pulmonary_edema"
    assert TABLE["pulmonary_edema"].ids("exactMatch", "HP") == ("HP:0100598",)
    assert TABLE["edema"].ids("exactMatch", "HP") == ("HP:0000969",)
    assert TABLE.definitional("pulmonary_edema", "edema")
    assert TABLE.by_vocabulary_key("Edema").id == "pulmonary_edema"


def test_covid19_is_its_own_concept() -> None:
    covid = TABLE["covid19"]
    assert covid.label == "COVID-19" and covid.tier == "disease"
    assert covid.id != TABLE.lookup("pneumonia").id and not TABLE.definitional("covid19", "pneumonia")
    assert TABLE.lookup("SARS-CoV-2 infection").id == "covid19"


def test_tiers_put_reading_confounders_before_findings_and_after_diseases() -> None:
    for c in ("projection", "device_maker", "label_method"):
        assert TABLE[c].tier == "acquisition"
    assert TABLE.tier_rank("age") < TABLE.tier_rank("heart_failure") < TABLE.tier_rank("projection") \
        < TABLE.tier_rank("cardiomegaly") < TABLE.tier_rank("chest_tube")


def test_every_starter_edge_end_has_a_concept() -> None:
    root = Path(__file__).resolve().parent.parent
    with (root / "ontologies" / "starter_claims.csv").open(encoding="utf-8") as fh:
        keys = {k for row in csv.DictReader(fh) for k in (row["subject"], row["object"])}
    assert not [k for k in keys if TABLE.by_vocabulary_key(k) is None]


def test_lookup_folds_case_and_plural() -> None:
    assert TABLE.lookup("Pleural Effusions").id == "pleural_effusion"
    assert TABLE.lookup("bullae").id == "bulla"
    assert TABLE.lookup("atelectases").id == "atelectasis"
    assert TABLE.lookup("acute") is None


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    header = ["id", "pref_label_en", "alt_labels", "tier", "kind", "scope", "umls", "exact_match", "close_match",
              "broad_match", "narrow_match", "broader", "vocabulary_key", "note"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in header})
    return path


def _row(cid: str, label: str, **kw: str) -> dict[str, str]:
    return {"id": cid, "pref_label_en": label, "tier": "finding", "kind": "ImagingFinding", "scope": "chest", **kw}


def test_integrity_catches_broken_rows(tmp_path: Path) -> None:
    table = load_concept_table(_write(tmp_path / "t.csv", [
        _row("a", "pleural effusion", exact_match="HP:0002202"),
        _row("b", "Pleural Effusion", exact_match="HP:0002202"),
        _row("c", "acute"),
        _row("d", "cardiomegaly", alt_labels="pleural effusion|chronic", broader="zz"),
        _row("e", "nodule", exact_match="HP:33608", umls="X1"),
        _row("f", "mass", broader="g"), _row("g", "lesion", broader="f"),
    ]))
    problems = "\n".join(integrity_problems(table))
    assert "b: prefLabel@en 'Pleural Effusion' is also the prefLabel of a" in problems
    assert "c: prefLabel 'acute' is only a qualifier" in problems
    assert "d: altLabel 'chronic' is only a qualifier" in problems
    assert "d: altLabel 'pleural effusion' is the prefLabel of" in problems
    assert "d: broader concept 'zz' is not in the table" in problems
    assert "malformed or unknown external id 'HP:33608'" in problems and "malformed UMLS CUI 'X1'" in problems
    assert "exactMatch HP:0002202 is also the exactMatch of a" in problems
    assert "cycle" in problems


def test_load_errors_name_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ConceptTableError, match="line 3: duplicate id 'a'"):
        load_concept_table(_write(tmp_path / "d.csv", [_row("a", "x"), _row("a", "y")]))
    with pytest.raises(ConceptTableError, match="line 2: column 'tier' is 'symptom'"):
        load_concept_table(_write(tmp_path / "t.csv", [_row("a", "x", tier="symptom")]))
    bad = tmp_path / "b.csv"
    bad.write_text("id,tier\n", encoding="utf-8")
    with pytest.raises(ConceptTableError, match="missing column"):
        load_concept_table(bad)


def test_skos_graph_has_one_pref_label_per_concept_and_language() -> None:
    import pyoxigraph as ox

    g = ox.Store()
    for t in concept_triples(TABLE):
        g.add(ox.Quad(t.subject, t.predicate, t.object))
    rows = list(g.query("""PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?c (COUNT(?l) AS ?n) WHERE { ?c a skos:Concept ; skos:prefLabel ?l } GROUP BY ?c (lang(?l) AS ?lang)""",
                        use_default_graph_as_union=True))
    assert len(rows) == len(TABLE) and all(int(r[1].value) == 1 for r in rows)
    closes = g.query("""PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        ASK { <https://w3id.org/mcrag/concept/heart_failure> skos:narrowMatch <http://purl.obolibrary.org/obo/HP_0001635> }""",
                          use_default_graph_as_union=True)
    assert bool(closes)


# --------------------------------------------------------------------------------- OBO (shared data)
@pytest.fixture(scope="module")
def obo(shared_data: Path) -> tuple[dict, dict]:
    return (read_obo(shared_data / "ontologies" / "hp.obo"),
            read_obo(shared_data / "ontologies" / "HumanDO_legacy.obo"))


@pytest.mark.shared_data
def test_every_hpo_and_doid_id_names_its_concept(obo: tuple[dict, dict]) -> None:
    hpo, doid = obo
    assert obo_problems(TABLE, hpo, doid, newer_than_release=NEWER_THAN_SHIPPED_DO) == []
    assert hpo["HP:0031457"].name == "Pulmonary opacity" and hpo["HP:0032177"].name == "Parenchymal consolidation"


@pytest.mark.shared_data
def test_hpo_modifiers_are_qualifiers_and_no_concept_maps_to_one(obo: tuple[dict, dict]) -> None:
    hpo, _ = obo
    quals = qualifier_ids(hpo)
    assert {"HP:0011009", "HP:0011010"} <= quals  # Acute, Chronic
    assert "HP:0002202" not in quals  # pleural effusion is a phenotype
    assert not [c.id for c in TABLE for m in c.matches if m.curie in quals]


@pytest.mark.shared_data
def test_obo_check_catches_the_old_wrong_ids(obo: tuple[dict, dict], tmp_path: Path) -> None:
    hpo, doid = obo
    table = load_concept_table(_write(tmp_path / "old.csv", [
        _row("lung_opacity", "lung opacity", exact_match="HP:0031460"),
        _row("consolidation", "consolidation", exact_match="HP:0031457"),
        _row("heart_failure", "heart failure", tier="disease", kind="Disease", exact_match="HP:0001635|DOID:6000"),
        _row("ghost", "ghost", exact_match="HP:9999999"),
    ]))
    problems = "\n".join(obo_problems(table, hpo, doid))
    assert "lung_opacity: exactMatch HP:0031460 is 'Benign muscle neoplasm'" in problems
    assert "consolidation: exactMatch HP:0031457 is 'Pulmonary opacity'" in problems
    assert "heart_failure: exactMatch HP:0001635 is 'Congestive heart failure'" in problems
    assert "ghost: HP:9999999 does not exist" in problems


@pytest.mark.shared_data
def test_no_pref_label_is_an_hpo_clinical_modifier(obo: tuple[dict, dict]) -> None:
    hpo, _ = obo
    children: dict[str, set[str]] = {}
    for term in {t.id: t for t in hpo.values()}.values():
        for p in term.parents:
            children.setdefault(p, set()).add(term.id)
    todo, modifiers = ["HP:0012823"], set()  # Clinical modifier
    while todo:
        for k in children.get(todo.pop(), ()):
            if k not in modifiers:
                modifiers.add(k)
                todo.append(k)
    names = {normalise_label(hpo[x].name) for x in modifiers}
    assert {"acute", "chronic"} <= names
    assert not [c.id for c in TABLE if normalise_label(c.label) in names]
