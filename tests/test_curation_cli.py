"""``mcrag curate`` workbench commands: search, edges, the edge view, bulk acts and their undo, structural edits,
comments, mappings, versions and releases; each outcome checked in the store, mistakes exit 2 in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kg.claims import write_claims
from kg.concepts import concept_for_finding
from kg.curation import edge_iri
from kg.namespaces import MCRAG, NAMED_GRAPHS
from kg.ontology import load_ontology
from kg.store import open_store
from mcrag.cli import main
from tests.fixtures.validation.scenario import claim


@pytest.fixture()
def folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "store"
    claims = {"eff1": claim("Effusion", "Atelectasis", doc="CXR10"), "eff2": claim("Effusion", "Atelectasis", doc="CXR11"),
              "nod": claim("Cardiomegaly", "Nodule", doc="CXR12"), "mass": claim("Mass", "Hernia", doc="CXR14")}
    with open_store(path) as st:
        load_ontology(st)
        write_claims(st, claims.values(), NAMED_GRAPHS["reports"])
    return path, {k: c.claim_id for k, c in claims.items()}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def ask(path: Path, query: str) -> bool:
    with open_store(path) as st:
        return st.ask(query)


def test_search_edges_edge_view_and_facets(folder: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    path, ids = folder
    code, out, err = run(capsys, "curate", "search", "--concept", "pleural fluid", "--json", "--store", str(path))
    assert code == 0, err
    page = json.loads(out)
    assert {i["claim_id"] for i in page["items"]} == {ids["eff1"], ids["eff2"]} and page["facets"]["status"] == {
        "proposed": 2}
    code, out, _ = run(capsys, "curate", "edges", "--facets", "--store", str(path))
    assert code == 0 and "pleural effusion causes atelectasis" in out and "status: proposed 4" in out
    edge = edge_iri(concept_for_finding("Effusion").iri, str(MCRAG.causes), concept_for_finding("Atelectasis").iri)
    code, out, _ = run(capsys, "curate", "edge", edge.rsplit("/", 1)[-1], "--store", str(path))
    assert code == 0 and ids["eff1"] in out and ids["eff2"] in out and "test-miner" in out
    code, _, err = run(capsys, "curate", "search", "--status", "approved", "--store", str(path))
    assert code == 2 and "unknown status 'approved'" in err and "Traceback" not in err


def test_bulk_reject_then_undo_the_bulk_act(folder: Any, capsys: Any) -> None:
    path, ids = folder
    code, out, err = run(capsys, "curate", "bulk", "reject", f"{ids['eff1']}@1", ids["nod"], "-u", "alice",
                         "-r", "treats read as causes", "--json", "--store", str(path))
    assert code == 0, err
    rec = json.loads(out)
    assert rec["count"] == 2
    assert ask(path, f"ASK {{ <{rec['activity']}> a mcrag:BulkCurationActivity ; mcrag:memberCount 2 }}")
    assert ask(path, f"ASK {{ <https://w3id.org/mcrag/id/claim/{ids['nod']}> mcrag:status mcrag:rejected }}")
    code, out, err = run(capsys, "curate", "undo", "--kind", "bulk", rec["activity"].rsplit("/", 1)[-1], "-u", "bob",
                         "-r", "too hasty", "--store", str(path))
    assert code == 0, err
    assert "undo reject of 2 claim(s)" in out
    assert ask(path, f"ASK {{ <https://w3id.org/mcrag/id/claim/{ids['nod']}> mcrag:status mcrag:proposed }}")
    code, _, err = run(capsys, "curate", "bulk", "reject", f"{ids['eff1']}@1", "-u", "alice", "-r", "x",
                       "--store", str(path))
    assert code == 2 and "version" in err  # eff1 is at version 3 now: nothing changed


def test_edit_subject_through_the_console_entry_point(folder: Any) -> None:
    path, ids = folder
    env = {**os.environ, "COLUMNS": "200"}
    r = subprocess.run([sys.executable, "-m", "mcrag.cli", "curate", "edit", ids["nod"], "--subject", "pulmonary mass",
                        "-u", "alice", "-r", "the mass is the cause", "--version", "1", "--store", str(path)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    assert "subject: concept:cardiomegaly -> concept:lung_mass" in r.stdout
    mass, nodule = concept_for_finding("Mass").iri, concept_for_finding("Nodule").iri
    assert ask(path, f"ASK {{ GRAPH <{NAMED_GRAPHS['reports']}> {{ <{mass}> mcrag:causes <{nodule}> }} }}")
    r = subprocess.run([sys.executable, "-m", "mcrag.cli", "curate", "edit", ids["nod"], "--object", "pulmonary mass",
                        "-u", "alice", "-r", "typo", "--version", "2", "--store", str(path)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 2 and "different from its effect" in r.stderr and "Traceback" not in r.stderr


def test_swap_comment_map_versions_compare(folder: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    path, ids = folder
    assert run(capsys, "curate", "edit", ids["mass"], "--swap", "-u", "a", "-r", "backwards", "--version", "1",
               "--store", str(path))[0] == 0
    code, out, _ = run(capsys, "curate", "compare", ids["mass"], "1", "2", "--store", str(path))
    assert code == 0 and "subject: concept:lung_mass -> concept:hiatal_hernia" in out
    code, out, _ = run(capsys, "curate", "history", ids["mass"], "--store", str(path))
    assert code == 0 and "object: concept:hiatal_hernia -> concept:lung_mass; subject: concept:lung_mass -> " \
        "concept:hiatal_hernia" in out
    code, out, err = run(capsys, "curate", "comment", ids["mass"], "Direction checked against the report.", "-u", "bob",
                         "--store", str(path))
    assert code == 0, err
    code, out, _ = run(capsys, "curate", "comments", ids["mass"], "--json", "--store", str(path))
    assert [c["text"] for c in json.loads(out)] == ["Direction checked against the report."]
    code, out, err = run(capsys, "curate", "map", "hiatal hernia", "close", "DOID:12643", "-u", "a", "-r", "close",
                         "--store", str(path))
    assert code == 0, err
    code, out, _ = run(capsys, "curate", "mappings", "hiatal hernia", "--json", "--store", str(path))
    assert json.loads(out)["close"] == ["http://purl.obolibrary.org/obo/DOID_12643"]
    code, _, err = run(capsys, "curate", "map", "hiatal hernia", "close", "ICD10:K44", "-u", "a", "-r", "x",
                       "--store", str(path))
    assert code == 2 and "HPO, DOID or MeSH" in err


def test_release_diff_and_export(folder: Any, capsys: Any, tmp_path: Path) -> None:
    path, ids = folder
    assert run(capsys, "curate", "accept", ids["eff1"], "-u", "a", "-r", "ok", "--version", "1", "--store", str(path))[0] == 0
    code, out, err = run(capsys, "curate", "release", "r1", "-u", "a", "--note", "first", "--store", str(path))
    assert code == 0 and "1 edges" in out, err
    assert run(capsys, "curate", "bulk", "accept", ids["nod"], ids["mass"], "-u", "a", "-r", "ok",
               "--store", str(path))[0] == 0
    assert run(capsys, "curate", "release", "r2", "-u", "a", "--store", str(path))[0] == 0
    code, out, _ = run(capsys, "curate", "diff", "r1", "r2", "--json", "--store", str(path))
    d = json.loads(out)
    assert d["counts"] == {"added": 2, "removed": 0, "changed": 0, "unchanged": 1}
    code, out, _ = run(capsys, "curate", "releases", "--json", "--store", str(path))
    assert [(r["name"], r["previous_name"]) for r in json.loads(out)] == [("r1", None), ("r2", "r1")]
    for suffix in ("ttl", "jsonld", "graphml"):
        target = tmp_path / f"r2.{suffix}"
        code, out, err = run(capsys, "curate", "release-export", "r2", str(target), "--store", str(path))
        assert code == 0 and target.stat().st_size > 0, err
    code, _, err = run(capsys, "curate", "release", "r2", "-u", "a", "--store", str(path))
    assert code == 2 and "exists already" in err
    code, out, err = run(capsys, "curate", "undo", "--kind", "release", "r2", "-u", "a", "-r", "early",
                         "--store", str(path))
    assert code == 0, err
