"""Grounded inference: every task in every retrieval mode, evidence traceability, injected findings, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.fixtures.vlm.builders import HashTextEncoder, tiny_assets, write_png
from vlm.errors import IndexMissingError, InputError
from vlm.images import ImageError
from vlm.infer import Grounder, diagnosis_text, parse_findings
from vlm.labels import LABEL_INDEX, LABELS


@pytest.fixture(scope="module")
def grounder(bootstrapped_store_module):
    a = tiny_assets()
    return Grounder.load(a["model"], a["index"], bootstrapped_store_module, text_encoder=HashTextEncoder())


@pytest.fixture(scope="module")
def bootstrapped_store_module():
    from vlm.grounding import starter_store

    return starter_store()


@pytest.fixture(scope="module")
def image():
    return tiny_assets()["iu_xray"] / "images" / "CXR2_1_IM-0002" / "0.png"


@pytest.mark.parametrize("mode", ["none", "semantic", "causal"])
@pytest.mark.parametrize("task,question", [("diagnose", None), ("report", None), ("vqa", "what is seen?")])
def test_every_task_in_every_mode_returns_an_answer_with_its_evidence(grounder, image, mode, task, question):
    r = grounder.infer(image, task, question, mode, max_new_tokens=8)
    assert r.answer and r.task == task and r.retrieval == mode
    assert len(r.findings) == len(LABELS) and all(0 <= f.posterior <= 1 for f in r.findings)
    data = json.loads(json.dumps(r.to_json()))
    assert data["answer"] == r.answer and "timings_ms" in data
    if mode == "none":
        assert r.exemplars == () and r.subgraph is None and r.counterfactuals == ()
    else:
        assert 0 < len(r.exemplars) <= 5
        assert all(h.exemplar.split != "test" for h in r.exemplars), "test cases are never indexed"
    if mode == "causal":
        assert r.subgraph is not None
        assert all(h.consistency is not None and h.consistency >= 0.5 for h in r.exemplars)
    if mode == "semantic":
        assert r.subgraph is None


def test_injected_findings_drive_the_subgraph_and_the_answer(grounder):
    vec = {"Effusion": 0.92, "Atelectasis": 0.7}
    r = grounder.infer(None, "diagnose", retrieval="causal", findings=vec)
    assert r.front_end == "injected"
    assert r.positive_findings() == ("Atelectasis", "Effusion") or set(r.positive_findings()) >= {"Effusion"}
    assert r.subgraph is not None and r.subgraph.edges
    effusion_edges = {e.claim_id for e in r.subgraph.edges if "pleural effusion" in (e.subject_label, e.object_label)}
    assert effusion_edges
    assert "pleural effusion" in r.answer
    traced = [s for s in r.sentences if "Effusion" in s.findings]
    assert traced and set(traced[0].claim_ids) & effusion_edges, "the sentence traces to a graph edge"
    assert traced[0].image_evidence["Effusion"] == pytest.approx(r.probabilities()["Effusion"])
    assert any(s.sources for s in r.sentences), "edges carry their literature citation"
    # a label-ordered array works the same way
    arr = np.zeros(len(LABELS))
    arr[LABEL_INDEX["Effusion"]] = 0.92
    arr[LABEL_INDEX["Atelectasis"]] = 0.7
    r2 = grounder.infer(None, "diagnose", retrieval="none", findings=arr)
    assert r2.probabilities("probability")["Effusion"] == pytest.approx(0.92)


def test_closed_questions_about_a_finding_are_answered_from_calibrated_probabilities(grounder):
    yes = grounder.infer(None, "vqa", "Is there a pleural effusion?", "none", findings={"Effusion": 0.8})
    no = grounder.infer(None, "vqa", "Is there a pleural effusion?", "none", findings={"Effusion": 0.1})
    assert yes.answer.startswith("Yes") and no.answer.startswith("No")
    assert yes.answer_source == "diagnosis-head"
    open_q = grounder.infer(None, "vqa", "Where is the opacity?", "none", findings={"Effusion": 0.1}, max_new_tokens=4)
    assert open_q.answer_source == "decoder" and "<question> where is the opacity?" in open_q.prompt.lower()


def test_causal_prompt_carries_the_evidence_and_semantic_prompt_does_not(grounder):
    f = {"Effusion": 0.9}
    causal = grounder.infer(None, "report", retrieval="causal", findings=f, max_new_tokens=4)
    semantic = grounder.infer(None, "report", retrieval="semantic", findings=f, max_new_tokens=4)
    none = grounder.infer(None, "report", retrieval="none", findings=f, max_new_tokens=4)
    assert "<evidence> E1" in causal.prompt and "<similar>" in causal.prompt
    assert "<evidence>" not in semantic.prompt and "<similar>" in semantic.prompt
    assert "<evidence>" not in none.prompt and "<similar>" not in none.prompt
    assert "<findings> pleural effusion" in none.prompt


def test_diagnosis_text_names_findings_and_edges():
    assert diagnosis_text({"Effusion": 0.1, "normal": 0.9}, None).startswith("No acute findings")
    assert "pleural effusion (0.80)" in diagnosis_text({"Effusion": 0.8}, None)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"task": "summarise"}, InputError, "unknown task"),
    ({"retrieval": "fuzzy"}, InputError, "unknown retrieval mode"),
    ({"task": "vqa", "question": "   "}, InputError, "non-empty"),
    ({"task": "vqa"}, InputError, "non-empty"),
    ({"task": "diagnose", "question": "why?"}, InputError, "only read by task vqa"),
    ({"findings": {"Effusion": 1.5}}, InputError, r"\[0, 1\]"),
    ({"findings": {"broken bone": 0.5}}, InputError, "unknown finding"),
    ({"findings": "Effusion"}, InputError, "needs a probability"),
])
def test_bad_requests_are_refused_clearly(grounder, image, kwargs, error, match):
    args = {"image": image, "task": "diagnose", "question": None, "retrieval": "none", **kwargs}
    findings = args.pop("findings", None)
    with pytest.raises(error, match=match):
        grounder.infer(args["image"], args["task"], args["question"], args["retrieval"], findings=findings)


def test_bad_images_and_missing_index(grounder, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(ImageError):
        grounder.infer(bad, "diagnose", retrieval="none")
    with pytest.raises(InputError, match="give an image"):
        grounder.infer(None, "diagnose", retrieval="none")
    no_index = Grounder(grounder.backend, None, grounder.store, text_encoder=HashTextEncoder())
    with pytest.raises(IndexMissingError, match="mcrag index build"):
        no_index.infer(write_png(tmp_path / "ok.png"), "diagnose", retrieval="semantic")
    assert no_index.infer(write_png(tmp_path / "ok.png"), "diagnose", retrieval="none").answer


def test_parse_findings_forms():
    assert parse_findings(None) is None
    p = parse_findings("Effusion=0.9, cardiomegaly=0.2")
    assert p["Effusion"] == 0.9 and p["Cardiomegaly"] == 0.2 and p["Hernia"] == 0.0
    with pytest.raises(InputError, match="values in the order"):
        parse_findings(np.zeros(3))


def test_generated_reports_are_reconciled_with_the_calibrated_findings():
    from vlm.infer import reconcile_report

    text = ("The heart is normal in size. No pleural effusion or pneumothorax. There is a small nodule. "
            "Degenerative changes of the spine.")
    out, origins, dropped = reconcile_report(text, {"Effusion": 0.9, "Cardiomegaly": 0.8, "Nodule": 0.1,
                                                    "normal": 0.05})
    assert dropped == 3, "denies cardiomegaly, denies effusion, asserts an unlikely nodule"
    assert out.startswith("Pleural effusion is present. Cardiomegaly is present.")
    assert "Degenerative changes of the spine." in out and "nodule" not in out
    assert origins["Degenerative changes of the spine."] == "decoder"
    assert origins["Pleural effusion is present."] == "diagnosis-head"
    same, _, none_dropped = reconcile_report("The lungs are clear.", {"Effusion": 0.1, "normal": 0.9})
    assert same == "The lungs are clear." and none_dropped == 0


def test_report_sentences_record_their_origin(grounder):
    r = grounder.infer(None, "report", retrieval="causal", findings={"Effusion": 0.95}, max_new_tokens=24)
    assert "Effusion" in {f for s in r.sentences for f in s.findings}
    assert {s.origin for s in r.sentences} <= {"decoder", "diagnosis-head"}
    eff = [s for s in r.sentences if s.findings and "Effusion" in s.findings]
    assert eff and eff[0].claim_ids


def test_image_head_labels_not_validated_are_shown_but_not_used(bootstrapped_store_module, tmp_path):
    from vlm.backends import ImageEncoding, VLMBackend
    from vlm.prompts import Prompt

    class FixedHead(VLMBackend):
        kind = "fixed"
        image_size = 16
        has_diagnosis_head = True
        validated_labels = ("Pneumonia", "normal")

        def __init__(self) -> None:
            self.path = "fixed"

        def encode(self, pixels):  # noqa: ANN001
            p = np.zeros(len(LABELS), np.float32)
            p[LABEL_INDEX["Pneumonia"]] = 0.8
            p[LABEL_INDEX["Effusion"]] = 0.9
            return ImageEncoding(p, None, None)

        def generate(self, encoding, prompt: Prompt, max_new_tokens: int = 96) -> str:  # noqa: ANN001
            return ""

    g = Grounder(FixedHead(), None, bootstrapped_store_module, text_encoder=HashTextEncoder())
    r = g.infer(write_png(tmp_path / "x.png"), "diagnose", retrieval="none")
    eff = next(f for f in r.findings if f.name == "Effusion")
    assert eff.probability == pytest.approx(0.9) and eff.posterior == 0.0 and not eff.validated
    assert r.positive_findings() == ("Pneumonia",)
    assert "not validated for pleural effusion" in " ".join(r.notes)
    injected = g.infer(None, "diagnose", retrieval="none", findings={"Effusion": 0.9})
    assert injected.positive_findings() == ("Effusion",), "injected findings are the caller's to vouch for"


def test_an_index_from_an_older_model_version_is_flagged(bootstrapped_store_module):
    import dataclasses

    from vlm.index import ExemplarIndex

    a = tiny_assets()
    idx = ExemplarIndex.load(a["index"])
    g = Grounder.load(a["model"], a["index"], bootstrapped_store_module, text_encoder=HashTextEncoder())
    assert g.index_note is None
    idx.info = dataclasses.replace(idx.info, encoder_fingerprint="model.safetensors:1:1")
    stale = Grounder(g.backend, idx, bootstrapped_store_module, text_encoder=HashTextEncoder())
    r = stale.infer(None, "diagnose", retrieval="semantic", findings={"Effusion": 0.9})
    assert any("mcrag index build" in n for n in r.notes)
