"""The model, its tokenizer, calibration, and loading local checkpoints behind one interface."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import AutoModel

from tests.fixtures.vlm.builders import TINY_TEXT, TINY_VISION, tiny_assets
from vlm.backends import GroundedBackend, VisionEncoderDecoderBackend, load_backend
from vlm.calibration import expected_calibration_error, fit_temperatures
from vlm.errors import ModelMissingError
from vlm.labels import LABELS
from vlm.model import GroundedVLM, GroundedVLMConfig
from vlm.prompts import Prompt, encode_prompt, findings_text
from vlm.tokenizer import SPECIAL_TOKENS, train_tokenizer


def _tiny(vocab: int = 300, **kw) -> GroundedVLM:
    cfg = GroundedVLMConfig(vision_config=TINY_VISION, text_config={**TINY_TEXT, "vocab_size": vocab},
                            image_size=32, **kw)
    return GroundedVLM(cfg).eval()


def test_forward_shapes_and_save_load_roundtrip_through_auto_classes(tmp_path):
    torch.manual_seed(0)
    m = _tiny()
    x = torch.randn(3, 1, 32, 32)
    out = m(pixel_values=x, input_ids=torch.randint(0, 300, (3, 7)))
    assert out.diagnosis_logits.shape == (3, len(LABELS)) and out.image_embeds.shape == (3, 384)
    assert torch.allclose(out.image_embeds.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert out.logits.shape == (3, 7, 300)
    m.config.calibration_temperature = [2.0] * len(LABELS)
    m.save_pretrained(tmp_path)
    back = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(back, GroundedVLM) and back.config.calibration_temperature == [2.0] * len(LABELS)
    with torch.no_grad():
        a, b = m(pixel_values=x).diagnosis_logits, back(pixel_values=x).diagnosis_logits
        assert torch.allclose(a, b, atol=1e-6)
        assert torch.allclose(back.calibrated_probs(b), torch.sigmoid(b / 2.0))


def test_lm_loss_only_counts_target_positions():
    torch.manual_seed(0)
    m = _tiny()
    ids = torch.randint(5, 300, (2, 10))
    labels = torch.full_like(ids, -100)
    labels[:, 6:] = ids[:, 6:]
    prefix = m.visual_prefix(None, 2)
    mask = torch.ones_like(ids)
    with torch.no_grad():
        loss = m.lm_loss(prefix, ids, mask, labels)
        logits = m.lm.lm_head(m.lm_hidden(prefix, ids, mask)[:, prefix.shape[1]:])
        manual = torch.nn.functional.cross_entropy(logits[:, 5:9].reshape(-1, 300), ids[:, 6:10].reshape(-1))
    assert loss.item() == pytest.approx(manual.item(), rel=1e-5)
    with pytest.raises(ValueError, match="square"):
        GroundedVLMConfig(num_visual_tokens=3)


def test_greedy_decoding_stops_at_the_limit_and_never_emits_banned_tokens():
    torch.manual_seed(0)
    m = _tiny()
    out = m.greedy_decode(m.visual_prefix(None, 1), torch.tensor([[5, 6, 7]]), 12, eos_id=2, banned_ids=[0, 1, 2, 3])
    assert 0 < len(out) <= 12 and not {0, 1, 2, 3} & set(out)


def test_tokenizer_keeps_special_tokens_and_round_trips(tmp_path):
    tok = train_tokenizer(["The heart is normal. No pleural effusion."] * 20, vocab_size=300)
    ids = encode_prompt(tok, Prompt("vqa", "pleural effusion", "E1 a causes b [accepted 1.00]", None, "is there effusion?"),
                        {"findings": 8, "evidence": 4, "question": 5})
    text = tok.decode(ids)
    for t in ("<vqa>", "<findings>", "<evidence>", "<question>", "<answer>"):
        assert text.count(t) == 1
    assert len(ids) == 2 + 8 + 1 + 4 + 1 + 5 + 1 or len(ids) < 22
    tok.save_pretrained(tmp_path)
    from transformers import AutoTokenizer

    back = AutoTokenizer.from_pretrained(tmp_path)
    assert back("The heart").input_ids == tok("The heart").input_ids
    assert all(back.convert_tokens_to_ids(s) != back.unk_token_id for s in SPECIAL_TOKENS if s != "<unk>")


def test_findings_text_orders_and_hedges():
    assert findings_text({"Effusion": 0.9, "Cardiomegaly": 0.6, "Atelectasis": 0.35, "Hernia": 0.1}) == (
        "pleural effusion; cardiomegaly; possible atelectasis")
    assert findings_text({"normal": 0.99, "Effusion": 0.1}) == "no acute findings"


def test_temperature_scaling_fixes_overconfidence():
    rng = np.random.default_rng(0)
    n = 2000
    y = (rng.random((n, 2)) < 0.3).astype(np.float64)
    true_logit = np.where(y == 1, 1.0, -1.0) + rng.standard_normal((n, 2))
    logits = 4.0 * true_logit  # four times too confident
    y[:50, 1] = -1  # masked entries are ignored
    cal = fit_temperatures(logits, y, ["a", "b"])
    assert all(t > 2.0 for t in cal.temperatures)
    assert cal.ece_after < cal.ece_before and cal.nll_after < cal.nll_before
    assert set(cal.fitted_labels) == {"a", "b"}
    assert expected_calibration_error(np.array([[0.9]]), np.array([[-1.0]])) != expected_calibration_error(
        np.array([[0.9]]), np.array([[1.0]]))


def test_load_backend_serves_our_checkpoint_and_explains_missing_ones(tmp_path):
    assets = tiny_assets()
    backend = load_backend(assets["model"])
    assert isinstance(backend, GroundedBackend) and backend.image_size == 32
    enc = backend.encode(np.zeros((32, 32), np.float32))
    assert enc.probs.shape == (len(LABELS),) and ((enc.probs >= 0) & (enc.probs <= 1)).all()
    assert isinstance(backend.generate(enc, Prompt("report", "no acute findings"), 8), str)
    with pytest.raises(ModelMissingError, match="mcrag train-vlm"):
        load_backend(tmp_path / "none")
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelMissingError, match="supported"):
        load_backend(tmp_path / "odd")


def test_any_local_vision_encoder_decoder_checkpoint_can_generate(tmp_path):
    from transformers import GPT2Config, VisionEncoderDecoderConfig, VisionEncoderDecoderModel, ViTConfig

    tok = train_tokenizer(["the lungs are clear", "small effusion"] * 10, vocab_size=280)
    enc = ViTConfig(image_size=32, patch_size=8, num_channels=3, hidden_size=32, num_hidden_layers=1,
                    num_attention_heads=2, intermediate_size=64)
    dec = GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=1, n_head=2, n_positions=64, add_cross_attention=True,
                     is_decoder=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    cfg = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)
    cfg.decoder_start_token_id = tok.bos_token_id
    cfg.pad_token_id = tok.pad_token_id
    torch.manual_seed(0)
    VisionEncoderDecoderModel(config=cfg).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    backend = load_backend(tmp_path)
    assert isinstance(backend, VisionEncoderDecoderBackend) and not backend.has_diagnosis_head
    px = np.random.default_rng(0).standard_normal((32, 32)).astype(np.float32)
    text = backend.generate(backend.encode(px), Prompt("report", "no acute findings"), 6)
    assert isinstance(text, str)
    with pytest.raises(ModelMissingError, match="needs an image"):
        backend.generate(backend.encode(None), Prompt("report", "x"), 4)


def test_equalising_model_reads_the_served_standardised_input_and_ignores_the_film_curve():
    from vlm.images import equalise, standardise
    from vlm.model import equalise_batch

    rng = np.random.default_rng(1)
    px = rng.beta(2, 3, (2, 32, 32)).astype(np.float32)
    px[0, :4, :4] = px[0, 0, 0]  # ties get the mid-rank, as in the numpy version
    t = torch.from_numpy(np.stack([standardise(p) for p in px])).unsqueeze(1)
    assert torch.allclose(equalise_batch(t)[:, 0], torch.from_numpy(np.stack([equalise(p) for p in px])), atol=1e-4)
    torch.manual_seed(0)
    m = _tiny(intensity="equalise")
    curved = torch.from_numpy(np.stack([standardise(p ** 2.5) for p in px])).unsqueeze(1)
    with torch.no_grad():
        assert torch.allclose(m(pixel_values=t).diagnosis_logits, m(pixel_values=curved).diagnosis_logits, atol=1e-4)
        plain = _tiny(intensity="zscore")
        assert not torch.allclose(plain(pixel_values=t).diagnosis_logits, plain(pixel_values=curved).diagnosis_logits,
                                  atol=1e-4)
    with pytest.raises(ValueError, match="unknown intensity"):
        GroundedVLMConfig(intensity="clahe")


def test_a_model_trained_without_per_image_normalisation_is_not_served(tmp_path):
    m = _tiny(intensity="fixed")
    m.save_pretrained(tmp_path)
    train_tokenizer(["the lungs are clear"] * 10, vocab_size=300).save_pretrained(tmp_path)
    with pytest.raises(ModelMissingError, match="without per-image intensity normalisation"):
        load_backend(tmp_path)


def test_validation_auc_reads_only_annotated_cases():
    """Undiagnosed films (label -1) must not enter the validation AUC the training history reports."""
    from vlm.train import _auc

    scores = np.array([0.9, 0.8, 0.1, 0.2, 0.95, 0.05])
    labels = np.array([1.0, 1.0, 0.0, 0.0, -1.0, -1.0])
    assert _auc(scores, labels) == pytest.approx(1.0), "the four annotated films are perfectly ranked"
    assert np.isnan(_auc(scores, np.array([1.0, 1.0, -1.0, -1.0, -1.0, -1.0]))), "one class only"
