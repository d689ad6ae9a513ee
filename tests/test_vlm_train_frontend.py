"""Training the front end on adult and paediatric films: the sampler, the selection rule, the cache."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.fixtures.vlm.builders import TINY_TEXT, TINY_VISION, HashTextEncoder
from tests.fixtures.vlm.frontend_data import make_nih, make_pediatric, nih_rows
from vlm.confounders import target_class, weighted_auc
from vlm.data import load_sources
from vlm.train import TrainConfig, Trainer, load_resized, train


@pytest.fixture(scope="module")
def films(tmp_path_factory):
    root = tmp_path_factory.mktemp("films")
    make_nih(root / "nih_1000", nih_rows(160, confounded=True))
    make_nih(root / "nih_621", nih_rows(12, start=150))
    make_pediatric(root / "pediatric_cxr", per_class=24)
    return root


def _config(**kw) -> TrainConfig:
    base = {"image_size": 32, "vision_epochs": 2, "samples_per_epoch": 64, "batch_size": 16, "vocab_size": 300,
            "vision_config": TINY_VISION, "text_config": TINY_TEXT, "sources": ("nih_1000", "pediatric_cxr"),
            "vision_only": True}
    return TrainConfig(**{**base, **kw})


def test_the_sampler_breaks_the_view_class_link_only_under_the_confounder_rule(films):
    corpus = load_sources(films, ("nih_1000", "pediatric_cxr"))
    train_recs = [r for r in corpus.records if r.split == "train"]
    nih = np.array([r.source == "nih_1000" for r in train_recs])
    y = np.array([target_class(r) for r in train_recs])[nih]
    pa = np.array([r.view == "PA" for r in train_recs], dtype=float)[nih]
    bright = np.full(len(train_recs), 0.5)
    draws = {}
    for rule in ("propensity", "off"):
        t = Trainer(corpus, _config(confounder_rule=rule), store=None, text_encoder=HashTextEncoder())
        w = t.sampling_weights(train_recs, bright)
        assert w.sum() == pytest.approx(1.0) and (w > 0).all()
        assert w[nih].sum() / w.sum() == pytest.approx(0.4 / 0.7), "source shares renormalised over those present"
        draws[rule] = weighted_auc(pa, y, w[nih])
    assert draws["off"] > 0.65 and abs(draws["propensity"] - 0.5) < 0.05


def test_training_records_the_selection_rule_and_the_intensity_setting(films, tmp_path):
    corpus = load_sources(films, ("nih_1000", "pediatric_cxr"))
    report = train(corpus, tmp_path / "model", _config(intensity="equalise", pixel_cache=str(tmp_path / "cache")),
                   text_encoder=HashTextEncoder())
    assert report.samples == [] and report.history["lm_train_loss"] == [], "vision only"
    assert "val_auc_nih_1000_abnormal" in report.val and "val_auc_pediatric_cxr_Pneumonia" in report.val
    assert "val_auc_nih_1000_abnormal_worst_view_matched" in report.val
    steps = [s for s, _ in report.history["vision_selection"]]
    assert report.val["selected_step"] in steps
    import json

    cfg = json.loads((tmp_path / "model" / "config.json").read_text())
    assert cfg["intensity"] == "equalise"
    assert list((tmp_path / "cache").glob("pixels-32-*.npz")), "resized films cached"
    with pytest.raises(ValueError, match="confounder rule"):
        _config(confounder_rule="magic")


def test_resized_films_come_back_from_the_cache_without_reading_the_images(films, tmp_path):
    copy = tmp_path / "nih"
    shutil.copytree(films / "nih_1000", copy)
    from vlm.data import read_nih

    recs = read_nih(copy).records[:10]
    first, kept = load_resized(recs, 24, cache_dir=tmp_path / "cache")
    assert first.shape == (10, 24, 24) and kept == list(range(10)) and first.min() >= 0 and first.max() <= 1
    stamp = {r.image_path: r.image_path.stat() for r in recs}
    for p in stamp:
        p.write_bytes(b"not an image any more")
    _, kept_fresh = load_resized(recs, 24)  # unreadable now: skipped without the cache
    assert kept_fresh == []
    import os

    for p, st in stamp.items():  # same size and time as before: the cache key still matches
        os.truncate(p, 0)
        with open(p, "wb") as fh:
            fh.write(b"\0" * st.st_size)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    again, kept_again = load_resized(recs, 24, cache_dir=tmp_path / "cache")
    assert kept_again == kept and np.allclose(again, first, atol=1e-3)


def test_texture_augmentation_wipes_out_fine_texture_but_keeps_the_picture():
    import torch

    from vlm.confounders import texture_statistic
    from vlm.train import texture_augment

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:48] / 48
    smooth = np.cos(3 * xx) + np.exp(-((yy - 0.5) ** 2 + (xx - 0.4) ** 2) / 0.02)
    grainy = smooth + 0.15 * rng.standard_normal((48, 48))
    x = torch.tensor(np.stack([smooth, grainy] * 32), dtype=torch.float32).unsqueeze(1)
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(texture_augment(x, gen, 0.0), x), "share 0 changes nothing"
    out = texture_augment(x, gen, 1.0)
    assert out.shape == x.shape and not torch.equal(out, x)
    before = texture_statistic(x[:, 0].numpy())
    after = texture_statistic(out[:, 0].numpy())
    gap_before = before[1::2].mean() - before[0::2].mean()
    gap_after = after[1::2].mean() - after[0::2].mean()
    assert gap_after < 0.5 * gap_before, "the grainy and the smooth film no longer differ as much in texture"
    corr = np.corrcoef(out[0, 0].numpy().ravel(), x[0, 0].numpy().ravel())[0, 1]
    assert corr > 0.8, "the anatomy stays"
    with pytest.raises(ValueError, match="texture_augment"):
        _config(texture_augment=1.5)


def test_flip_averaged_models_give_a_film_and_its_mirror_the_same_diagnosis(films, tmp_path):
    import torch

    from vlm.model import GroundedVLM

    corpus = load_sources(films, ("nih_1000", "pediatric_cxr"))
    train(corpus, tmp_path / "model", _config(flip=True, texture_augment=0.5, texture_confounder=True,
                                             checkpoint="last"), text_encoder=HashTextEncoder())
    model = GroundedVLM.from_pretrained(tmp_path / "model").eval()
    assert model.config.flip_average
    x = torch.randn(3, 1, 32, 32)
    with torch.inference_mode():
        a = model.diagnosis_logits(model.vision_features(x)[0])
        b = model.diagnosis_logits(model.vision_features(x.flip(-1))[0])
    assert torch.allclose(a, b, atol=1e-5)
    import json

    report = json.loads((tmp_path / "model" / "train_report.json").read_text())
    assert report["val"]["selected_step"] == report["history"]["vision_selection"][-1][0], "the last checkpoint"
    with pytest.raises(ValueError, match="checkpoint rule"):
        _config(checkpoint="best-on-test")


def test_within_folder_training_leaves_the_normal_folder_out_and_derives_normal_from_the_findings(films, tmp_path):
    import torch

    from vlm.labels import LABEL_INDEX
    from vlm.model import GroundedVLM

    corpus = load_sources(films, ("nih_1000", "pediatric_cxr"))
    both = train(corpus, tmp_path / "both", _config(), text_encoder=HashTextEncoder())
    report = train(corpus, tmp_path / "model", _config(within_folder=("nih_1000",)), text_encoder=HashTextEncoder())
    nih_train = [r for r in corpus.records if r.source == "nih_1000" and r.split == "train"]
    abnormal = sum(r.labels[LABEL_INDEX["normal"]] == 0 for r in nih_train)
    assert both.counts["images_train_nih_1000"] == len(nih_train)
    assert report.counts["images_train_nih_1000"] == abnormal < len(nih_train)
    model = GroundedVLM.from_pretrained(tmp_path / "model").eval()
    assert model.config.normal_from_findings
    with torch.inference_mode():
        p = model.calibrated_probs(model.diagnosis_logits(model.vision_features(torch.randn(4, 1, 32, 32))[0]))
    others = [i for i in range(p.shape[1]) if i != LABEL_INDEX["normal"]]
    assert torch.allclose(p[:, LABEL_INDEX["normal"]], (1 - p[:, others]).prod(dim=1))
    assert "val_auc_nih_1000_abnormal" in report.val


def test_per_source_group_heads_are_mixed_by_the_group_classifier_and_survive_a_reload(films, tmp_path):
    import torch

    from vlm.model import GroundedVLM

    corpus = load_sources(films, ("nih_1000", "pediatric_cxr"))
    groups = (("adult", ("nih_1000",)), ("paediatric", ("pediatric_cxr",)))
    trainer = Trainer(corpus, _config(source_groups=groups), store=None, text_encoder=HashTextEncoder())
    recs = [r for r in corpus.records if r.split == "train"]
    assert trainer._groups(recs).tolist() == [int(r.source == "pediatric_cxr") for r in recs]
    train(corpus, tmp_path / "model", _config(source_groups=groups), text_encoder=HashTextEncoder())
    model = GroundedVLM.from_pretrained(tmp_path / "model").eval()
    assert model.config.source_groups == ["adult", "paediatric"] and len(model.group_heads) == 1
    with torch.inference_mode():
        pooled = model.vision_features(torch.randn(5, 1, 32, 32))[0]
        mixed = torch.sigmoid(model.diagnosis_logits(pooled))
        weights = torch.softmax(model.group_classifier(pooled), dim=-1)
        heads = torch.sigmoid(torch.stack([model.diagnosis_head(pooled), model.group_heads[0](pooled)], dim=1))
    assert torch.allclose(mixed, (weights.unsqueeze(-1) * heads).sum(1), atol=1e-4)


def test_the_adult_prior_correction_moves_adult_films_to_the_population_base_rates(films, tmp_path):
    import torch

    from vlm.labels import ADULT_PREVALENCE, LABEL_INDEX
    from vlm.model import GroundedVLM

    corpus = load_sources(films, ("nih_1000", "pediatric_cxr"))
    groups = (("adult", ("nih_1000",)), ("paediatric", ("pediatric_cxr",)))
    report = train(corpus, tmp_path / "model", _config(source_groups=groups, group_heads=False,
                                                       prior_correction=("adult",)), text_encoder=HashTextEncoder())
    model = GroundedVLM.from_pretrained(tmp_path / "model").eval()
    shift = model.config.prior_shift
    assert set(shift) == {"adult"} and len(model.group_heads) == 0
    p = LABEL_INDEX["Pneumonia"]
    # the fixture's adult films are a quarter pneumonia; NIH's are 1.3%
    assert shift["adult"][p] < -2.0 and shift["adult"][LABEL_INDEX["COVID-19"]] == 0.0
    assert report.val["prior_shift_adult_Pneumonia"] == shift["adult"][p]
    assert ADULT_PREVALENCE["Pneumonia"] < 0.02
    x = torch.randn(6, 1, 32, 32)
    with torch.inference_mode():
        pooled = model.vision_features(x)[0]
        shifted = model.calibrated_probs(model.diagnosis_logits(pooled))
        adult = torch.softmax(model.group_classifier(pooled), dim=-1)[:, 0]
        model.config.prior_shift = None
        plain = model.calibrated_probs(model.diagnosis_logits(pooled))
    moved = torch.logit(shifted[:, p]) - torch.logit(plain[:, p])
    assert torch.allclose(moved, adult * shift["adult"][p], atol=1e-3), "the offset, weighted by P(adult)"
    with pytest.raises(ValueError, match="not among the source_groups"):
        _config(prior_correction=("adult",))
    with pytest.raises(ValueError, match="no population base rates"):
        _config(source_groups=(("elderly", ("nih_1000",)),), prior_correction=("elderly",))
