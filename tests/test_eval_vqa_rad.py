"""VQA-RAD benchmark: answer normalisation, accuracy, the blind baseline, a tiny end-to-end run, bad input."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from benchmarks import vqa_rad
from benchmarks.registry import BenchmarkError, RunContext


class BagEncoder:
    """A stand-in for MiniLM: hashed bag of words, unit length (keeps these tests fast and offline)."""

    name = "bag-of-words"

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().replace("?", " ").split():
                out[i, zlib.crc32(w.encode()) % 64] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)


QUESTIONS = [
    ("Is there a pleural effusion?", "yes", "no", "CLOSED"),
    ("Is the heart enlarged?", "no", "yes", "CLOSED"),
    ("What organ is shown?", "lungs", "brain", "OPEN"),
    ("Is this an MRI?", "no", "yes", "CLOSED"),
    ("Which side is the lesion on?", "left", "right", "OPEN"),
]


def _fixture(root: Path) -> Path:
    """Two images (chest, head); each asked the same questions with opposite answers; test = paraphrases."""
    from PIL import Image

    data = root / "vqa_rad"
    (data / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, organ_value in (("chest.jpg", 60), ("head.jpg", 190)):
        arr = np.clip(rng.normal(organ_value, 30, (48, 48)), 0, 255).astype(np.uint8)
        Image.fromarray(arr).save(data / "images" / name)
    train, test, qid = [], [], 0
    for image, organ, col in (("chest.jpg", "CHEST", 1), ("head.jpg", "HEAD", 2)):
        for q, *answers, kind in QUESTIONS:
            qid += 1
            train.append({"qid": qid, "image_name": image, "image_organ": organ, "question": q,
                          "answer": answers[col - 1], "answer_type": kind, "question_type": "PRES"})
            train.append({"qid": qid + 1000, "image_name": image, "image_organ": organ, "question": q.lower(),
                          "answer": answers[col - 1], "answer_type": kind, "question_type": "PRES"})
        test.append({"qid": 500 + col, "image_name": image, "image_organ": organ, "question": "Is there pleural effusion?",
                     "answer": "Yes" if col == 1 else "No", "answer_type": "CLOSED", "question_type": "PRES"})
        test.append({"qid": 600 + col, "image_name": image, "image_organ": organ, "question": "What organ is shown here?",
                     "answer": "the lungs" if col == 1 else "Brain.", "answer_type": "OPEN", "question_type": "ORGAN"})
    (data / "trainset.json").write_text(json.dumps(train))
    (data / "testset.json").write_text(json.dumps(test))
    return data


def test_normalise_answer() -> None:
    assert vqa_rad.normalise_answer("Yes.") == "yes"
    assert vqa_rad.normalise_answer("  The Right  Upper-Lobe ") == "right upper lobe"
    assert vqa_rad.normalise_answer("an X-ray, a CT") == "x ray ct"
    assert vqa_rad.normalise_answer(3) == "3"


def test_accuracy_known_values() -> None:
    assert vqa_rad.accuracy(["Yes", "no", "left lung"], ["yes.", "yes", "The left lung"]) == pytest.approx(200 / 3)
    assert vqa_rad.accuracy([], []) == 0.0
    items = [vqa_rad.QA("1", "a", "q?", "yes", True), vqa_rad.QA("2", "a", "q?", "no", True),
             vqa_rad.QA("3", "a", "what?", "brain", False), vqa_rad.QA("4", "a", "what?", "ct", False)]
    sc = vqa_rad.split_accuracy(items, ["yes", "yes", "Brain", "mri"])
    assert sc == {"closed_accuracy": 50.0, "open_accuracy": 50.0, "overall_accuracy": 50.0}
    with pytest.raises(ValueError):
        vqa_rad.accuracy(["yes"], [])


def test_blind_baseline_answers_nearest_question() -> None:
    enc = BagEncoder()
    train_q = ["is there a fracture", "what organ is this", "which lobe has the mass"]
    answers = ["no", "brain", "right upper lobe"]
    got = vqa_rad.blind_nn(enc.encode(train_q), answers, enc.encode(["what organ is this image", "which lobe mass"]))
    assert got == ["brain", "right upper lobe"]


def test_question_findings_map_to_graph() -> None:
    assert vqa_rad.question_findings("Is there a pleural effusion?") == ("Effusion",)
    assert vqa_rad.question_findings("Is this an MRI of the brain?") == ()


def test_loader_errors(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="not found"):
        vqa_rad.load_vqa_rad(tmp_path / "nowhere")
    data = _fixture(tmp_path)
    (data / "testset.json").unlink()
    with pytest.raises(BenchmarkError, match="testset.json"):
        vqa_rad.load_vqa_rad(data)
    (data / "testset.json").write_text(json.dumps([{"qid": 1, "question": "x?"}]))
    with pytest.raises(BenchmarkError, match="lacks field"):
        vqa_rad.load_vqa_rad(data)
    (data / "testset.json").write_text("{not json")
    with pytest.raises(BenchmarkError, match="not valid JSON"):
        vqa_rad.load_vqa_rad(data)
    (data / "testset.json").write_text(json.dumps([{"qid": 1, "image_name": "gone.jpg", "question": "x?",
                                                    "answer": "yes", "answer_type": "CLOSED"}]))
    with pytest.raises(BenchmarkError, match="missing"):
        vqa_rad.load_vqa_rad(data)


def test_run_on_tiny_fixture(tmp_path: Path) -> None:
    _fixture(tmp_path)
    ctx = RunContext(tmp_path, tmp_path / "models", ("none", "semantic", "causal"), encoder=BagEncoder(),
                     train_budget_s=0.5)
    out = vqa_rad.run(ctx, val_share=0.2, answer_epochs=5)
    assert set(out["modes"]) == {"none", "semantic", "causal"}
    for row in out["modes"].values():
        assert {"closed_accuracy", "open_accuracy", "overall_accuracy", "hallucination_rate",
                "traceability_any", "traceability_graph"} <= set(row)
    assert set(out["baselines"]["blind_question_nn"]) == {"closed_accuracy", "open_accuracy", "overall_accuracy"}
    assert out["graph_coverage"]["covered_questions"] == 2  # the two effusion questions
    assert out["counts"]["test"] == 4 and out["notes"]
    assert (tmp_path / "models" / vqa_rad.MODEL_FILE).is_file()
    # same image asked the same question in train: retrieval recovers the closed answers
    assert out["modes"]["semantic"]["closed_accuracy"] == 100.0
    paths = vqa_rad.write_plots(out, tmp_path / "plots")
    assert all(p.is_file() for p in paths)


def test_real_data_loads(shared_data: Path) -> None:
    if not (shared_data / "vqa_rad").is_dir():
        pytest.skip("VQA-RAD is not in the shared data folder")
    train, test, _ = vqa_rad.load_vqa_rad(shared_data / "vqa_rad")
    assert len(train) == 3064 and len(test) == 451
    assert sum(q.closed for q in test) == 272
