"""Tiny end-to-end benchmark runs on fixtures: question parsing, VQA, report generation, the CLI."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from vlm.evaluation.questions import parse_question, report_answers

FIX = Path(__file__).parent / "fixtures" / "eval"


class BagEncoder:
    """A stand-in for MiniLM: hashed bag of words, unit length (keeps these tests fast and offline)."""

    name = "bag-of-words"

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, zlib.crc32(w.encode()) % 64] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)


def test_questions_map_to_findings() -> None:
    q = parse_question("Is the heart size within normal limits on the chest X-ray? \n<image>")
    assert q.findings == ("Cardiomegaly",) and q.normal_form
    q = parse_question("Does the patient have a large pleural effusion?")
    assert q.findings == ("Effusion",) and not q.normal_form
    q = parse_question("Are there degenerative changes of the spine?")
    assert q.findings == () and "spine" in q.keywords
    assert report_answers(q, "Degenerative changes of the spine. Lungs clear.") == 1.0
    assert report_answers(q, "No acute bony abnormality. The spine is normal.") == 0.0


def test_vqa_end_to_end_on_fixture() -> None:
    from vlm.evaluation.vqa import evaluate_vqa

    out = evaluate_vqa(FIX, FIX / "vqa_test.jsonl", aucs=(1.0,), modes=("none", "causal"),
                       encoder=BagEncoder())
    assert out["n_questions"] == 8
    gold_end = out["curve"]["1.0"]
    # gold labels answer every labelled question right; the spine question falls back to base rates
    assert gold_end["none"]["accuracy"] >= 87.5
    assert set(gold_end) == {"none", "causal"}


def test_report_end_to_end_on_fixture(shared_data: Path) -> None:
    from vlm.evaluation.report import evaluate_reports

    out = evaluate_reports(FIX, shared_data / "labeler", aucs=(1.0,), modes=("none", "causal"),
                           encoder=BagEncoder())
    gold_end = out["curve"]["1.0"]
    assert out["n_reports"] == 4
    for mode in ("none", "causal"):
        assert 0.0 < gold_end[mode]["bleu1"] <= 1.0
    assert gold_end["causal"]["traceability_any"] == pytest.approx(1.0)


def test_cli_rejects_unknown_pairs() -> None:
    from typer.testing import CliRunner

    from mcrag.cli import app

    r = CliRunner().invoke(app, ["eval", "--task", "vqa", "--dataset", "pneumoniamnist"])
    assert r.exit_code != 0
    r = CliRunner().invoke(app, ["eval", "--task", "diagnose", "--dataset", "pneumoniamnist", "--retrieval", "bogus"])
    assert r.exit_code != 0
