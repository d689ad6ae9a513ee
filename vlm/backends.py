"""Loading a model checkpoint and running it behind one small interface.

Two kinds of local Hugging Face checkpoint are served: MCRAG's own ``mcrag-vlm`` (diagnosis head,
image embeddings, prompt-conditioned decoder) and any ``vision-encoder-decoder`` checkpoint (image
in, text out; no diagnosis head, so findings then come from retrieval or from an injected vector).
The rest of the system only sees :class:`VLMBackend`, so swapping models is one setting.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vlm.errors import ModelMissingError
from vlm.labels import LABELS
from vlm.prompts import Prompt, encode_prompt


@dataclass(frozen=True)
class ImageEncoding:
    """What a backend read from one image."""

    probs: np.ndarray | None
    """Calibrated probability per label of ``label_names`` (None without a diagnosis head)."""
    embedding: np.ndarray | None
    """Unit vector in the exemplar space (None when the backend has no aligned embedding)."""
    state: Any = None
    """Backend-private features reused by :meth:`VLMBackend.generate`."""


class VLMBackend(ABC):
    path: str
    kind: str
    image_size: int
    label_names: tuple[str, ...] = LABELS
    has_diagnosis_head: bool = False
    has_embeddings: bool = False
    validated_labels: tuple[str, ...] | None = None
    """Labels whose head probability was checked on held-out data (None: all are used)."""

    @abstractmethod
    def encode(self, pixels: np.ndarray | None) -> ImageEncoding:
        """Read one preprocessed image (``image_size`` square, standardised), or nothing."""

    @abstractmethod
    def generate(self, encoding: ImageEncoding | None, prompt: Prompt, max_new_tokens: int = 96) -> str:
        """Text for ``prompt`` (the task, findings, evidence, similar case and question)."""

    def encode_batch(self, pixels: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (N, labels) and embeddings (N, d) for a stack of images, one at a time unless a
        backend reads batches itself; a backend without a diagnosis head or embeddings cannot answer."""
        encodings = [self.encode(p) for p in pixels]
        if any(e.probs is None or e.embedding is None for e in encodings):
            raise ValueError(f"the {self.kind} backend at {self.path} gives no probabilities or embeddings per image")
        return (np.stack([e.probs for e in encodings if e.probs is not None]),
                np.stack([e.embedding for e in encodings if e.embedding is not None]))

    @property
    def fingerprint(self) -> str:
        return _fingerprint(Path(self.path))


def _fingerprint(folder: Path) -> str:
    """Size and modification time of the weights: enough to notice a retrained model."""
    for name in ("model.safetensors", "pytorch_model.bin"):
        f = folder / name
        if f.is_file():
            st = f.stat()
            return f"{name}:{st.st_size}:{int(st.st_mtime)}"
    return "unknown"


def _tidy(text: str) -> str:
    """Capitalise sentences of lower-cased decoder output."""
    out = []
    for s in text.strip().split(". "):
        s = s.strip()
        if s:
            out.append(s[0].upper() + s[1:])
    t = ". ".join(out)
    return t


class GroundedBackend(VLMBackend):
    """MCRAG's ``mcrag-vlm`` checkpoint with its tokenizer."""

    kind = "mcrag-vlm"
    has_diagnosis_head = True
    has_embeddings = True

    def __init__(self, path: str | Path, model: Any = None, tokenizer: Any = None) -> None:
        from transformers import AutoTokenizer

        from vlm.model import GroundedVLM

        self.path = str(path)
        self.model = model if model is not None else GroundedVLM.from_pretrained(self.path)
        self.model.eval()
        self.tokenizer = tokenizer if tokenizer is not None else AutoTokenizer.from_pretrained(self.path)
        cfg = self.model.config
        if getattr(cfg, "intensity", "zscore") == "fixed":
            raise ModelMissingError(f"model at {self.path} was trained without per-image intensity normalisation "
                                    "(an ablation setting) and cannot read the standardised images MCRAG passes; "
                                    "train a served model with the default setting")
        self.image_size = int(cfg.image_size)
        self.label_names = tuple(cfg.label_names)
        validated = getattr(cfg, "validated_labels", None)
        self.validated_labels = tuple(validated) if validated is not None else None
        self._banned = [int(i) for i in self.tokenizer.all_special_ids
                        if i not in (self.tokenizer.eos_token_id,)]

    @torch.inference_mode()
    def encode(self, pixels: np.ndarray | None) -> ImageEncoding:
        if pixels is None:
            return ImageEncoding(None, None, None)
        x = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)).view(1, 1, *pixels.shape)
        pooled, tokens = self.model.vision_features(x)
        probs = self.model.calibrated_probs(self.model.diagnosis_logits(pooled))[0].numpy()
        emb = self.model.image_embeds(pooled)[0].numpy()
        return ImageEncoding(probs.astype(np.float32), emb.astype(np.float32), tokens)

    @torch.inference_mode()
    def encode_batch(self, pixels: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities (N, labels) and embeddings (N, d) for a stack of images."""
        probs, embs = [], []
        for s in range(0, len(pixels), batch):
            x = torch.from_numpy(np.ascontiguousarray(pixels[s:s + batch], dtype=np.float32)).unsqueeze(1)
            pooled, _ = self.model.vision_features(x)
            probs.append(self.model.calibrated_probs(self.model.diagnosis_logits(pooled)).numpy())
            embs.append(self.model.image_embeds(pooled).numpy())
        return np.concatenate(probs).astype(np.float32), np.concatenate(embs).astype(np.float32)

    @torch.inference_mode()
    def generate(self, encoding: ImageEncoding | None, prompt: Prompt, max_new_tokens: int = 96) -> str:
        use_image = encoding is not None and encoding.state is not None and (
            prompt.task != "report" or self.model.config.report_uses_image)
        vec = (torch.tensor([prompt.probabilities], dtype=torch.float32)
               if prompt.probabilities is not None and len(prompt.probabilities) == len(self.label_names) else None)
        prefix = self.model.visual_prefix(encoding.state if use_image else None, 1,  # type: ignore[union-attr]
                                          findings=vec)
        ids = torch.tensor([encode_prompt(self.tokenizer, prompt, self.model.config.prompt_budget)])
        out = self.model.greedy_decode(prefix, ids, max_new_tokens, int(self.tokenizer.eos_token_id),
                                       banned_ids=self._banned)
        return _tidy(str(self.tokenizer.decode(out, skip_special_tokens=True)))


class VisionEncoderDecoderBackend(VLMBackend):
    """Any local ``VisionEncoderDecoderModel`` checkpoint (image-to-text; prompt fields are not read)."""

    kind = "vision-encoder-decoder"

    def __init__(self, path: str | Path) -> None:
        from transformers import AutoTokenizer, VisionEncoderDecoderModel

        self.path = str(path)
        self.model = VisionEncoderDecoderModel.from_pretrained(self.path).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        enc = self.model.config.encoder
        self.image_size = int(getattr(enc, "image_size", 224))
        self.channels = int(getattr(enc, "num_channels", 3))
        proc = Path(self.path) / "preprocessor_config.json"
        self.mean, self.std = 0.5, 0.5
        if proc.is_file():
            p = json.loads(proc.read_text(encoding="utf-8"))
            self.mean = float(np.mean(p.get("image_mean", [0.5])))
            self.std = float(np.mean(p.get("image_std", [0.5])))
        self.label_names = LABELS

    def encode(self, pixels: np.ndarray | None) -> ImageEncoding:
        return ImageEncoding(None, None, pixels)

    @torch.inference_mode()
    def generate(self, encoding: ImageEncoding | None, prompt: Prompt, max_new_tokens: int = 96) -> str:
        if encoding is None or encoding.state is None:
            raise ModelMissingError(f"model {self.path} ({self.kind}) needs an image to generate text")
        px = np.asarray(encoding.state, dtype=np.float32)
        # standardised pixels back to [0, 1], then the checkpoint's own normalisation
        lo, hi = float(px.min()), float(px.max())
        unit = (px - lo) / (hi - lo) if hi > lo else np.zeros_like(px)
        x = torch.from_numpy((unit - self.mean) / self.std).view(1, 1, *px.shape).repeat(1, self.channels, 1, 1)
        cfg = self.model.generation_config
        start = cfg.decoder_start_token_id or self.model.config.decoder_start_token_id or self.tokenizer.bos_token_id
        out = self.model.generate(pixel_values=x, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                                  decoder_start_token_id=start,
                                  pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
                                  eos_token_id=self.tokenizer.eos_token_id)
        return _tidy(str(self.tokenizer.decode(out[0], skip_special_tokens=True)))


def load_backend(path: str | Path) -> VLMBackend:
    """The backend for a local checkpoint folder, chosen by its ``config.json`` ``model_type``."""
    folder = Path(path)
    cfg_file = folder / "config.json"
    if not cfg_file.is_file():
        raise ModelMissingError(f"no model at {folder} (config.json missing); train the default model with "
                                "`mcrag train-vlm`, or pass --model PATH to a local Hugging Face checkpoint")
    try:
        model_type = json.loads(cfg_file.read_text(encoding="utf-8")).get("model_type")
    except json.JSONDecodeError as err:
        raise ModelMissingError(f"{cfg_file} is not valid JSON ({err})") from None
    if model_type == "mcrag-vlm":
        return GroundedBackend(folder)
    if model_type == "vision-encoder-decoder":
        return VisionEncoderDecoderBackend(folder)
    raise ModelMissingError(f"model at {folder} has model_type {model_type!r}; supported: mcrag-vlm "
                            "(from `mcrag train-vlm`) and vision-encoder-decoder checkpoints")
