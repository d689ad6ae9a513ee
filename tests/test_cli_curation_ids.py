"""Curation commands: ids shown in full and accepted by unique prefix; no empty effect in ``show``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kg.ontology import load_ontology
from kg.store import open_store
from reasoning.validate import validate_store
from tests.fixtures.validation.scenario import load_scenario, scenario_frame

pytestmark = pytest.mark.slow  # a validation run and CLI processes


def mcrag(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mcrag.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "80"})


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], list[str]]:
    folder = tmp_path_factory.mktemp("ids") / "store"
    from kg import curation

    with open_store(folder) as st:
        load_ontology(st)
        load_scenario(st)
        run = validate_store(st, scenario_frame(2_000), refuters=("placebo_treatment",), simulations=5)
        # claims whose latest validation estimated nothing (an edge the data cannot test)
        untestable = [v.claim.rsplit("/", 1)[-1] for v in run.claims
                      if (d := curation.claim_detail(st, v.claim)).validations and d.validations[0].effect is None]
    assert untestable, "the scenario has edges whose validation estimated no effect"
    every = [v.claim.rsplit("/", 1)[-1] for v in run.claims]
    return folder, untestable, every


def test_show_leaves_out_an_effect_that_was_not_estimated(validated) -> None:
    folder, untestable, _ = validated
    r = mcrag("curate", "show", untestable[0], "--store", str(folder))
    assert r.returncode == 0, r.stderr
    assert "notTestable" in r.stdout
    assert "[, ]" not in r.stdout and "n=None" not in r.stdout


def test_queue_shows_ids_in_full_even_on_a_narrow_terminal(validated) -> None:
    folder, _, every = validated
    r = mcrag("curate", "queue", "--limit", "5", "--store", str(folder))
    assert r.returncode == 0, r.stderr
    shown = [cid for cid in every if cid in r.stdout]
    assert len(shown) == 5, r.stdout


def test_unique_prefix_selects_a_claim_and_an_ambiguous_one_is_refused(validated) -> None:
    folder, _, every = validated
    cid = every[0]
    prefix = next(cid[:n] for n in range(4, 20) if sum(c.startswith(cid[:n]) for c in every) == 1)
    r = mcrag("curate", "history", prefix, "--store", str(folder))
    assert r.returncode == 0, r.stderr
    none = mcrag("curate", "show", "ffffffffff", "--store", str(folder))
    assert none.returncode == 2 and "no claim id starts with" in none.stderr


def test_ambiguous_prefix_names_the_candidates() -> None:
    from mcrag.commands.common import resolve_claim
    from mcrag.errors import UserInputError

    store = open_store(":memory:")
    store.update("INSERT DATA { GRAPH <urn:g> { <https://w3id.org/mcrag/id/claim/abcd1111111111111111> a mcrag:CausalClaim . "
                 "<https://w3id.org/mcrag/id/claim/abcd2222222222222222> a mcrag:CausalClaim } }")
    assert resolve_claim(store, "abcd1").endswith("/abcd1111111111111111")
    with pytest.raises(UserInputError, match="several claim ids.*abcd1111111111111111.*abcd2222222222222222"):
        resolve_claim(store, "abcd")
