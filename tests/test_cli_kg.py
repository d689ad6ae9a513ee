"""``mcrag kg`` end to end through the real console entry point (exit codes included)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = """@prefix mcrag: <https://w3id.org/mcrag#> .
@prefix ex: <http://example.org/> .
ex:smoking mcrag:causes ex:emphysema .
ex:emphysema mcrag:causes ex:hyperinflation .
ex:emphysema mcrag:predisposesTo ex:pneumothorax .
"""
TWO_HOP = "SELECT ?c WHERE { <http://example.org/smoking> mcrag:causes/mcrag:causes ?c }"


def mcrag(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mcrag.cli", *args], capture_output=True, text=True,
                          input=stdin, timeout=300)


@pytest.fixture()
def loaded(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    sample = tmp_path / "sample.ttl"
    sample.write_text(SAMPLE)
    r = mcrag("kg", "load", str(sample), "--graph", "curated", "--store", str(store))
    assert r.returncode == 0, r.stderr
    assert "3 causal edge(s) had no claim" in r.stdout
    return store


@pytest.mark.slow
def test_load_then_two_hop_query_in_every_format(loaded: Path) -> None:
    out = mcrag("kg", "query", TWO_HOP, "--format", "json", "--store", str(loaded))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [{"c": "http://example.org/hyperinflation"}]
    csv = mcrag("kg", "query", TWO_HOP, "--format", "csv", "--store", str(loaded))
    assert csv.stdout.splitlines() == ["c", "http://example.org/hyperinflation"]
    sj = mcrag("kg", "query", TWO_HOP, "--format", "sparql-json", "--store", str(loaded))
    assert json.loads(sj.stdout)["results"]["bindings"][0]["c"]["type"] == "uri"
    xml = mcrag("kg", "query", TWO_HOP, "--format", "sparql-xml", "--store", str(loaded))
    assert "<uri>http://example.org/hyperinflation</uri>" in xml.stdout
    table = mcrag("kg", "query", "-", "--store", str(loaded), stdin=TWO_HOP)
    assert "hyperinflation" in table.stdout and "1 row(s)" in table.stdout


@pytest.mark.slow
def test_malformed_sparql_exits_2(loaded: Path) -> None:
    r = mcrag("kg", "query", "SELEC ?x", "--store", str(loaded))
    assert r.returncode == 2
    assert "syntax error" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_malformed_rdf_names_file_and_line_and_changes_nothing(loaded: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b \"oops .\n")
    query = ("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", "-f", "csv", "--store", str(loaded))
    before = mcrag("kg", "query", *query).stdout
    r = mcrag("kg", "load", str(bad), "--store", str(loaded))
    assert r.returncode == 2
    assert f"{bad}:3" in r.stderr and "nothing was loaded" in r.stderr
    assert mcrag("kg", "query", *query).stdout == before


@pytest.mark.slow
def test_update_export_and_stats(loaded: Path, tmp_path: Path) -> None:
    r = mcrag("kg", "update", "INSERT DATA { GRAPH <https://w3id.org/mcrag/graph/curated> "
              "{ <http://example.org/x> mcrag:causes <http://example.org/y> } }", "--store", str(loaded))
    assert r.returncode == 0 and "+1 quads" in r.stdout
    for ext in ("ttl", "nt", "nq", "trig", "rdf", "jsonld"):
        out = tmp_path / f"export.{ext}"
        r = mcrag("kg", "export", str(out), "--store", str(loaded))
        assert r.returncode == 0, r.stderr
        assert out.stat().st_size > 0 and not out.with_name(out.name + ".part").exists()
    quads = mcrag("kg", "query", "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", "-f", "csv",
                  "--store", str(loaded)).stdout.splitlines()[1]
    stats = mcrag("kg", "stats", "--store", str(loaded))
    assert "graph:curated" in stats.stdout and f"│ {quads} " in stats.stdout


def test_missing_store_is_a_clear_message(tmp_path: Path) -> None:
    r = mcrag("kg", "query", "ASK {}", "--store", str(tmp_path / "absent"))
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_unknown_format_and_missing_file_exit_2(loaded: Path, tmp_path: Path) -> None:
    assert mcrag("kg", "load", str(tmp_path / "nope.ttl"), "--store", str(loaded)).returncode == 2
    odd = tmp_path / "data.xyz"
    odd.write_text("x")
    r = mcrag("kg", "load", str(odd), "--store", str(loaded))
    assert r.returncode == 2 and "--format" in r.stderr
    assert mcrag("kg", "query", "ASK {}", "-f", "yaml", "--store", str(loaded)).returncode == 2


@pytest.mark.slow
def test_check_reports_planted_inconsistency_and_shacl_violation(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert mcrag("kg", "init", "--store", str(store)).returncode == 0
    ok = mcrag("kg", "check", "--store", str(store))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "consistent" in ok.stdout and "conforms" in ok.stdout
    planted = tmp_path / "planted.ttl"
    planted.write_text("""@prefix mcrag: <https://w3id.org/mcrag#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix ex: <http://example.org/> .
ex:lung_as_disease a mcrag:Disease , mcrag:AnatomicalSite ; skos:prefLabel "lung" .
ex:claim1 a mcrag:CausalClaim ; mcrag:polarity "maybe" .
""")
    assert mcrag("kg", "load", str(planted), "--graph", "curated", "--store", str(store)).returncode == 0
    bad = mcrag("kg", "check", "--store", str(store))
    assert bad.returncode == 1
    assert "INCONSISTENT" in bad.stdout and "[owl] http://example.org/lung_as_disease" in bad.stdout
    assert "[shacl] http://example.org/claim1: polarity must be" in bad.stdout


@pytest.mark.slow
def test_bare_causal_edges_become_proposed_claims_citing_the_load(loaded: Path) -> None:
    from kg import curation
    from kg.store import open_store

    with open_store(loaded) as st:
        items = curation.review_queue(st, 50, statuses=("proposed",))
        edges = {(i.record.subject_label, i.record.relation, i.record.object_label) for i in items}
        assert edges == {("smoking", "causes", "emphysema"), ("emphysema", "causes", "hyperinflation"),
                         ("emphysema", "predisposesTo", "pneumothorax")}
        detail = curation.claim_detail(st, items[0].claim)
        assert [s.collection for s in detail.sources] == ["kg-load"]
        assert any("sample.ttl" in (s.identifier or "") + (s.citation or "") for s in detail.sources)
        agents = st.select("SELECT ?l WHERE { ?c prov:wasGeneratedBy/prov:wasAssociatedWith/rdfs:label ?l }",
                           bindings={"c": __import__("kg.store", fromlist=["Term"]).Term.iri(items[0].claim)})
        assert [a["l"] for a in agents] == ["mcrag kg load"]
    again = mcrag("kg", "load", str(loaded.parent / "sample.ttl"), "--graph", "curated", "--store", str(loaded))
    assert again.returncode == 0 and "had no claim" not in again.stdout, "a backed edge gets no second claim"


@pytest.mark.slow
def test_bulk_load_of_bare_causal_edges_is_refused(tmp_path: Path) -> None:
    sample = tmp_path / "sample.ttl"
    sample.write_text(SAMPLE)
    r = mcrag("kg", "load", str(sample), "--graph", "curated", "--bulk", "--store", str(tmp_path / "s"))
    assert r.returncode == 2 and "without --bulk" in r.stderr
