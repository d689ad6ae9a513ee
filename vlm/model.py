"""The embedded vision-language model: a small CNN, a projector and a small causal language model.

LLaVA-style, shrunk to what trains on a CPU in minutes: a tiny ResNet (Hugging Face ``ResNetModel``)
reads a grayscale radiograph; its pooled feature feeds a diagnosis head (one logit per label, with a
per-label temperature fitted on a validation split so the probabilities are calibrated) and an
embedding head aligned with the MiniLM text space (so images and reports share one exemplar index);
its spatial features, projected, become a few prefix tokens of a tiny GPT-2 that writes reports and
answers from a prompt carrying the predicted findings and the causal evidence. It is a
``PreTrainedModel``: ``save_pretrained`` / ``from_pretrained`` and the Auto classes work on it.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    GPT2Config,
    GPT2LMHeadModel,
    PretrainedConfig,
    PreTrainedModel,
    ResNetConfig,
    ResNetModel,
)
from transformers.utils import ModelOutput

from vlm.images import INTENSITY_MODES
from vlm.labels import LABELS

MODEL_TYPE = "mcrag-vlm"

DEFAULT_VISION: dict[str, Any] = {
    "num_channels": 1, "embedding_size": 24, "hidden_sizes": [24, 48, 96, 192], "depths": [1, 1, 1, 1],
    "layer_type": "basic", "hidden_act": "relu", "downsample_in_first_stage": False,
}
DEFAULT_TEXT: dict[str, Any] = {
    "vocab_size": 2000, "n_positions": 256, "n_embd": 128, "n_layer": 2, "n_head": 4,
    "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
}


class GroundedVLMConfig(PretrainedConfig):
    """Sizes of the three parts, the label space, and the fitted calibration temperatures."""

    model_type = MODEL_TYPE

    def __init__(self, vision_config: dict[str, Any] | None = None, text_config: dict[str, Any] | None = None,
                 label_names: list[str] | tuple[str, ...] = LABELS, image_size: int = 64,
                 num_visual_tokens: int = 4, embed_dim: int = 384, calibration_temperature: list[float] | None = None,
                 report_uses_image: bool = False, prompt_budget: dict[str, int] | None = None,
                 validated_labels: list[str] | None = None, intensity: str = "zscore", flip_average: bool = False,
                 normal_from_findings: bool = False, source_groups: list[str] | None = None,
                 group_heads: bool = True, prior_shift: dict[str, list[float]] | None = None,
                 **kwargs: Any) -> None:
        self.vision_config = {**DEFAULT_VISION, **(vision_config or {})}
        self.text_config = {**DEFAULT_TEXT, **(text_config or {})}
        self.label_names = list(label_names)
        self.image_size = int(image_size)
        self.num_visual_tokens = int(num_visual_tokens)
        self.embed_dim = int(embed_dim)
        self.calibration_temperature = list(calibration_temperature) if calibration_temperature else [1.0] * len(self.label_names)
        self.validated_labels = list(validated_labels) if validated_labels is not None else None
        """Labels the head was checked on held-out data (enough positives and negatives); None: not assessed.

        Inference uses the head's probability only for these; the shared data sets label a few findings
        (pneumonia, consolidation, COVID-19, normal) well enough to check, the rest only weakly."""
        if intensity not in INTENSITY_MODES:
            raise ValueError(f"unknown intensity normalisation {intensity!r}; use one of {', '.join(INTENSITY_MODES)}")
        self.intensity = intensity
        """Per-image intensity normalisation the vision tower was trained with (:data:`vlm.images.INTENSITY_MODES`).

        Served images arrive standardised (``zscore``); an ``equalise`` model equalises them itself (the
        result does not depend on the standardisation). ``fixed`` (no per-image normalisation) exists to
        measure what normalisation does and is not served."""
        self.normal_from_findings = bool(normal_from_findings)
        """P(normal) is the probability that no other label is present (the product of their complements),
        not a head of its own: used when the training films' normal class is a folder of its own whose
        look the model would otherwise learn as "normal"."""
        self.source_groups = list(source_groups) if source_groups else None
        """Per-source-group diagnosis heads (e.g. adult, paediatric, other), mixed by a learned group
        classifier: P(label) = sum over groups of P(group | film) P(label | film, group head). None: one head."""
        self.group_heads = bool(group_heads)
        """With ``source_groups``: one diagnosis head per group (True), or one shared head and the group
        classifier alone (which :attr:`prior_shift` reads)."""
        self.prior_shift = {str(k): [float(x) for x in v] for k, v in prior_shift.items()} if prior_shift else None
        """Per source group, a log-odds offset per label moving that group's training base rates to the
        population's (e.g. adult films to NIH ChestX-ray14's), applied after calibration and weighted by the
        group classifier's probability; None: no correction."""
        self.flip_average = bool(flip_average)
        """Outside training, the pooled feature is the mean over the film and its mirror image (the
        vision tower was trained with horizontal flips)."""
        self.report_uses_image = bool(report_uses_image)
        """True when the report decoder was trained on imaged reports; otherwise it reads findings only."""
        self.prompt_budget = dict(prompt_budget or {"findings": 24, "evidence": 48, "similar": 40,
                                                    "question": 32, "target": 96})
        side = int(math.isqrt(self.num_visual_tokens))
        if side * side != self.num_visual_tokens:
            raise ValueError(f"num_visual_tokens must be a square number, got {self.num_visual_tokens}")
        super().__init__(**kwargs)


@dataclass
class GroundedVLMOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    diagnosis_logits: torch.Tensor | None = None
    image_embeds: torch.Tensor | None = None


class GroundedVLM(PreTrainedModel):
    """Vision tower + diagnosis head + embedding head + projector + GPT-2 decoder."""

    config_class = GroundedVLMConfig
    base_model_prefix = "mcrag_vlm"
    main_input_name = "pixel_values"
    _no_split_modules: list[str] = []

    def __init__(self, config: GroundedVLMConfig) -> None:
        super().__init__(config)
        self.vision = ResNetModel(ResNetConfig(**config.vision_config))
        feat = int(config.vision_config["hidden_sizes"][-1])
        text_cfg = GPT2Config(**config.text_config)
        n_embd = text_cfg.n_embd
        self.diagnosis_head = nn.Sequential(nn.Dropout(0.2), nn.Linear(feat, len(config.label_names)))
        groups = getattr(config, "source_groups", None) or []
        if groups:
            # the first group reads ``diagnosis_head``; the others have their own
            n_heads = len(groups) - 1 if getattr(config, "group_heads", True) else 0
            self.group_heads = nn.ModuleList(nn.Sequential(nn.Dropout(0.2), nn.Linear(feat, len(config.label_names)))
                                             for _ in range(n_heads))
            self.group_classifier = nn.Linear(feat, len(groups))
        self.embed_head = nn.Sequential(nn.Linear(feat, feat), nn.ReLU(), nn.Linear(feat, config.embed_dim))
        self.projector = nn.Sequential(nn.Linear(feat, n_embd), nn.GELU(), nn.Linear(n_embd, n_embd))
        self.null_image = nn.Parameter(torch.zeros(config.num_visual_tokens, n_embd))
        # the finding probabilities (from any front end) as one more prefix token: a direct route from
        # "what the image shows" to the words, which the text of the findings field alone teaches slowly
        self.findings_proj = nn.Sequential(nn.Linear(len(config.label_names), n_embd), nn.Tanh(),
                                           nn.Linear(n_embd, n_embd))
        self.lm = GPT2LMHeadModel(text_cfg)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        # the ResNet and GPT-2 towers initialise themselves; the small heads keep PyTorch's defaults
        return

    # -- vision ------------------------------------------------------------------------------------
    def vision_features(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pooled feature (B, C) and ``num_visual_tokens`` spatial tokens (B, T, C)."""
        if getattr(self.config, "intensity", "zscore") == "equalise":
            pixel_values = equalise_batch(pixel_values)
        fmap = self.vision(pixel_values).last_hidden_state
        pooled = fmap.mean(dim=(2, 3))
        if getattr(self.config, "flip_average", False) and not self.training:
            pooled = 0.5 * (pooled + self.vision(pixel_values.flip(-1)).last_hidden_state.mean(dim=(2, 3)))
        side = int(math.isqrt(self.config.num_visual_tokens))
        tokens = F.adaptive_avg_pool2d(fmap, side).flatten(2).transpose(1, 2)
        return pooled, tokens

    def group_logits(self, pooled: torch.Tensor) -> torch.Tensor:
        """(B, groups, labels): each source group's head (only for models with ``source_groups``)."""
        return torch.stack([self.diagnosis_head(pooled), *(h(pooled) for h in self.group_heads)], dim=1)

    def diagnosis_logits(self, pooled: torch.Tensor) -> torch.Tensor:
        """One logit per label; with per-group heads, the logit of the group-mixed probability; with a
        prior shift, moved so that the calibrated probability carries the population's base rates."""
        groups = getattr(self.config, "source_groups", None)
        if not groups or not getattr(self.config, "group_heads", True):
            logits = self.diagnosis_head(pooled)
        else:
            weights = torch.softmax(self.group_classifier(pooled), dim=-1).unsqueeze(-1)
            probs = (weights * torch.sigmoid(self.group_logits(pooled))).sum(dim=1).clamp(1e-6, 1 - 1e-6)
            logits = torch.logit(probs)
        shift = getattr(self.config, "prior_shift", None)
        if groups and shift:
            offsets = torch.tensor([shift.get(g, [0.0] * logits.shape[1]) for g in groups], dtype=logits.dtype)
            weights = torch.softmax(self.group_classifier(pooled), dim=-1)
            t = torch.tensor(self.config.calibration_temperature, dtype=logits.dtype).clamp_min(1e-3)
            logits = logits + (weights @ offsets) * t  # calibrated_probs divides by t: the offset lands as is
        return logits

    def calibrated_probs(self, logits: torch.Tensor) -> torch.Tensor:
        """Sigmoid of logits divided by the per-label temperatures fitted on validation data (``normal``
        derived from the others when the model says so: :func:`derive_normal`)."""
        t = torch.tensor(self.config.calibration_temperature, dtype=logits.dtype, device=logits.device).clamp_min(1e-3)
        probs = torch.sigmoid(logits / t)
        if getattr(self.config, "normal_from_findings", False):
            probs = derive_normal(probs, self.config.label_names)
        return probs

    def image_embeds(self, pooled: torch.Tensor) -> torch.Tensor:
        """Unit vectors in the text encoder's space (cosine = inner product)."""
        return F.normalize(self.embed_head(pooled), dim=-1)

    # -- language ----------------------------------------------------------------------------------
    def visual_prefix(self, tokens: torch.Tensor | None, batch: int, has_image: torch.Tensor | None = None,
                      findings: torch.Tensor | None = None) -> torch.Tensor:
        """Projected image tokens (or the learned "no image" prefix), then the findings token.

        ``findings`` is a (batch, labels) probability tensor; without it the findings token encodes
        "nothing known" (all zeros).
        """
        null = self.null_image.unsqueeze(0).expand(batch, -1, -1)
        if tokens is None:
            vis = null
        else:
            proj = self.projector(tokens)
            if has_image is None:
                vis = proj
            else:
                mask = has_image.view(-1, 1, 1).to(proj.dtype)
                vis = proj * mask + null * (1 - mask)
        if findings is None:
            findings = torch.zeros(batch, len(self.config.label_names), dtype=vis.dtype, device=vis.device)
        return torch.cat([vis, self.findings_proj(findings.to(vis.dtype)).unsqueeze(1)], dim=1)

    def lm_hidden(self, prefix: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
                  ) -> torch.Tensor:
        embeds = torch.cat([prefix, self.lm.transformer.wte(input_ids)], dim=1)
        mask = None
        if attention_mask is not None:
            ones = torch.ones(prefix.shape[:2], dtype=attention_mask.dtype, device=attention_mask.device)
            mask = torch.cat([ones, attention_mask], dim=1)
        return self.lm.transformer(inputs_embeds=embeds, attention_mask=mask).last_hidden_state

    def lm_loss(self, prefix: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                labels: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """Next-token loss on the positions where ``labels`` != -100 (the target, not the prompt).

        Only those positions go through the vocabulary projection, which is most of the cost.
        ``weights`` (same shape as ``labels``) lets the words that carry findings count more.
        """
        hidden = self.lm_hidden(prefix, input_ids, attention_mask)[:, prefix.shape[1]:]
        shift_h, shift_y = hidden[:, :-1], labels[:, 1:]
        keep = shift_y != -100
        logits = self.lm.lm_head(shift_h[keep])
        if weights is None:
            return F.cross_entropy(logits, shift_y[keep])
        w = weights[:, 1:][keep].to(logits.dtype)
        return (F.cross_entropy(logits, shift_y[keep], reduction="none") * w).sum() / w.sum().clamp_min(1e-6)

    def forward(self, pixel_values: torch.Tensor | None = None, input_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                **_: Any) -> GroundedVLMOutput:
        """Diagnosis logits and image embeddings for images; LM loss/logits when text is given."""
        diag = emb = tokens = None
        batch = pixel_values.shape[0] if pixel_values is not None else (input_ids.shape[0] if input_ids is not None else 0)
        if pixel_values is not None:
            pooled, tokens = self.vision_features(pixel_values)
            diag, emb = self.diagnosis_logits(pooled), self.image_embeds(pooled)
        loss = logits = None
        if input_ids is not None:
            prefix = self.visual_prefix(tokens, batch)
            if labels is not None:
                loss = self.lm_loss(prefix, input_ids, attention_mask if attention_mask is not None
                                    else torch.ones_like(input_ids), labels)
            else:
                logits = self.lm.lm_head(self.lm_hidden(prefix, input_ids, attention_mask)[:, prefix.shape[1]:])
        return GroundedVLMOutput(loss=loss, logits=logits, diagnosis_logits=diag, image_embeds=emb)

    @torch.inference_mode()
    def greedy_decode(self, prefix: torch.Tensor, prompt_ids: torch.Tensor, max_new_tokens: int, eos_id: int,
                      banned_ids: list[int] | None = None, repetition_penalty: float = 1.3) -> list[int]:
        """Greedy decoding with a key-value cache (one sequence); stops at ``eos_id``."""
        embeds = torch.cat([prefix, self.lm.transformer.wte(prompt_ids)], dim=1)
        out = self.lm(inputs_embeds=embeds, use_cache=True)
        cache, logits = _cache_of(out), out.logits[:, -1]
        limit = self.config.text_config["n_positions"] - embeds.shape[1]
        generated: list[int] = []
        for _ in range(max(0, min(max_new_tokens, limit))):
            if banned_ids:
                logits[:, banned_ids] = -float("inf")
            if generated and repetition_penalty != 1.0:
                prev = torch.tensor(sorted(set(generated)))
                vals = logits[0, prev]
                logits[0, prev] = torch.where(vals > 0, vals / repetition_penalty, vals * repetition_penalty)
            nxt = int(logits.argmax(-1))
            if nxt == eos_id:
                break
            generated.append(nxt)
            out = self.lm(input_ids=torch.tensor([[nxt]]), **{_CACHE_ARG: cache}, use_cache=True)
            cache, logits = _cache_of(out), out.logits[:, -1]
        return generated


def derive_normal(probs: torch.Tensor, label_names: list[str] | tuple[str, ...]) -> torch.Tensor:
    """``normal`` replaced by the product of ``1 - p`` over every other label (no finding, no COVID-19)."""
    names = list(label_names)
    if "normal" not in names:
        return probs
    j = names.index("normal")
    others = [i for i in range(len(names)) if i != j]
    out = probs.clone()
    out[:, j] = (1.0 - probs[:, others]).prod(dim=1)
    return out


def equalise_batch(x: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation per image (mid-ranks), standardised: :func:`vlm.images.equalise` in torch."""
    b = x.shape[0]
    flat = x.reshape(b, -1).contiguous()
    ordered = flat.sort(dim=1).values
    lo = torch.searchsorted(ordered, flat, right=False)
    hi = torch.searchsorted(ordered, flat, right=True)
    u = (lo + hi).to(x.dtype) / (2.0 * flat.shape[1])
    m, s = u.mean(dim=1, keepdim=True), u.std(dim=1, unbiased=False, keepdim=True).clamp_min(1e-6)
    return ((u - m) / s).reshape(x.shape)


_CACHE_ARG = "cache" if "cache" in inspect.signature(GPT2LMHeadModel.forward).parameters else "past_key_values"


def _cache_of(out: Any) -> Any:
    return out.get("cache") if out.get("cache") is not None else out.get("past_key_values")


def register_auto_classes() -> None:
    """Make ``AutoConfig`` / ``AutoModel`` resolve ``model_type: mcrag-vlm`` checkpoints."""
    AutoConfig.register(MODEL_TYPE, GroundedVLMConfig, exist_ok=True)
    AutoModel.register(GroundedVLMConfig, GroundedVLM, exist_ok=True)


register_auto_classes()
