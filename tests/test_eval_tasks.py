"""Tiny end-to-end benchmark runs on fixtures: question parsing, VQA, report generation, the CLI."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from benchmarks.questions import (
    FRAME_WORDS,
    QuestionModel,
    SentenceReader,
    generate_questions,
    named_findings,
    parse_question,
    report_answers,
    words,
)

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


_REPORTS = [
    ("The heart size is within normal limits. The lungs are clear. No pleural effusion. The spine is normal.",
     {"normal": 1}),
    ("The heart is enlarged. Small right pleural effusion. Degenerative changes of the spine.",
     {"Cardiomegaly": 1, "Effusion": 1}),
    ("Heart size is normal. Calcified granuloma in the right upper lobe. No pneumothorax.", {"Nodule": 0}),
    ("The cardiomediastinal silhouette is normal. Lungs are clear. Osseous structures are intact.", {"normal": 1}),
]


def _reader() -> SentenceReader:
    reports = [r for r, _ in _REPORTS] * 3
    return SentenceReader.fit(reports, [g.get("normal", 0) for _, g in _REPORTS] * 3, min_count=1)


def test_generated_questions_come_from_the_given_report_only() -> None:
    reader = _reader()
    rng = np.random.default_rng(0)
    report, gold = _REPORTS[1]
    qs = generate_questions(report, gold, reader, rng, "s1", concepts=0)
    assert qs and all(q.study == "s1" for q in qs)
    vocab = set(words(report)) | FRAME_WORDS | {"normal", "within", "limits"}
    for q in qs:
        assert set(words(q.text)) <= vocab, q.text
    assert any(q.target == "Cardiomegaly" for q in qs)
    assert {q.answer for q in qs if q.target == "Effusion" and not q.normal_form} == {1}
    # "the heart is enlarged": "is the heart enlarged?" asks for the abnormality, "is the heart normal?" is answered no
    for q in qs:
        if q.target == "Cardiomegaly":
            assert q.normal_form != ("enlarged" in q.text) and q.answer == int("enlarged" in q.text)
    assert named_findings("Is the heart size mildly enlarged?") == ("Cardiomegaly",)


def test_questions_map_to_findings() -> None:
    reader = _reader()
    rng = np.random.default_rng(0)
    gen = [q for r, g in _REPORTS for _ in range(6) for q in generate_questions(r, g, reader, rng)]
    model = QuestionModel().fit(gen)
    q = parse_question("Is the heart size within normal limits on the chest X-ray? \n<image>", model)
    assert q.findings == ("Cardiomegaly",) and q.normal_form
    q = parse_question("Does the patient have a large pleural effusion?", model)
    assert q.findings == ("Effusion",) and not q.normal_form
    q = parse_question("Are there degenerative changes of the spine?")
    assert q.findings == () and "spine" in q.keywords and "degen" in q.keywords
    assert report_answers(q, "Degenerative changes of the spine. Lungs clear.", reader) == 1.0
    assert report_answers(q, "No acute bony abnormality. The spine is normal.", reader) == 0.0


def test_vqa_end_to_end_on_fixture(tmp_path: Path) -> None:
    from benchmarks.vqa import evaluate_vqa, write_plots

    out = evaluate_vqa(FIX, FIX / "vqa_test.jsonl", aucs=(1.0,), modes=("none", "causal"),
                       encoder=BagEncoder())
    assert out["n_questions"] == 8
    gold_end = out["curve"]["1.0"]
    # gold labels answer every labelled question right; the spine question falls back to base rates
    assert gold_end["none"]["accuracy"] >= 87.5
    assert set(gold_end) == {"none", "causal", "none+pref", "causal+pref"}
    assert out["preference"]["chosen"] in out["preference"]["val_accuracy"]
    assert out["question_model"]["training_questions"] > 0
    paths = write_plots({"task": "vqa", "dataset": "fixture", **out}, tmp_path)
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)


def test_report_end_to_end_on_fixture(shared_data: Path) -> None:
    from benchmarks.report import evaluate_reports

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


def test_openi_study_key_is_the_report_prefix() -> None:
    from benchmarks.iu_xray import study_key

    assert study_key("CXR2384_IM-0942") == "CXR2384" and study_key("CXR1_1_IM-0001") == "CXR1"
