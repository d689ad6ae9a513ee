"""When to trust retrieved evidence and when the front end's own reading: a policy trained with DPO.

Per question there are two answer sources: the front end's own reading (its finding probability,
or for a question no label covers, the train-report base rate) and the evidence of the retrieval
mode (the grounder's fused posterior, or what the retrieved reports say). The policy is a
two-action distribution ``pi(evidence | x) = sigmoid(w . x)`` over standardised features of the
question; its answer mixes the two sources by that probability.

It is trained with the DPO loss (Rafailov et al. 2023, as MMed-RAG and RULE use it) against a
frozen reference policy (the initial one: trust both equally), on preference pairs where the two
sources disagree: the source that answered right is *chosen*, the other *rejected*::

    L = -log sigmoid(beta * ((log pi(c) - log ref(c)) - (log pi(r) - log ref(r))))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

FEATURES: tuple[str, ...] = (
    "own_confidence", "evidence_confidence", "agreement", "mean_similarity", "top_similarity",
    "evidence_spread", "labelled", "whole_study", "normal_form", "mode_semantic", "mode_causal", "own_p", "evidence_p")
EVIDENCE, OWN = 1, 0


def features(p_own: float, p_ev: float, similarities: Sequence[float], votes: Sequence[float], labelled: bool,
             whole_study: bool, normal_form: bool, mode: str) -> np.ndarray:
    """The policy's input for one question (order of :data:`FEATURES`)."""
    sims = np.asarray(similarities, dtype=np.float64)
    v = np.asarray(votes, dtype=np.float64)
    return np.array([abs(2 * p_own - 1), abs(2 * p_ev - 1), 1 - abs(p_own - p_ev),
                     float(sims.mean()) if sims.size else 0.0, float(sims.max()) if sims.size else 0.0,
                     float(v.std()) if v.size else 0.0, float(labelled), float(whole_study), float(normal_form),
                     float(mode == "semantic"), float(mode == "causal"), p_own, p_ev], dtype=np.float64)


def dpo_loss(logp_chosen: torch.Tensor, logp_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float) -> torch.Tensor:
    """Mean DPO loss over pairs."""
    margin = (logp_chosen - ref_chosen) - (logp_rejected - ref_rejected)
    return -torch.nn.functional.logsigmoid(beta * margin).mean()


def preference_pairs(x: np.ndarray, p_own: np.ndarray, p_ev: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows where the two sources answer differently, and which one was right (1 = evidence, 0 = own)."""
    own_yes, ev_yes = np.asarray(p_own) >= 0.5, np.asarray(p_ev) >= 0.5
    keep = own_yes != ev_yes
    chosen = (ev_yes == (np.asarray(y) == 1)).astype(np.int64)
    return x[keep], chosen[keep]


@dataclass
class SourcePolicy:
    """pi(evidence | x) = sigmoid(w . standardise(x) + b)."""

    weight: np.ndarray
    bias: float = 0.0
    mean: np.ndarray = field(default_factory=lambda: np.zeros(len(FEATURES)))
    scale: np.ndarray = field(default_factory=lambda: np.ones(len(FEATURES)))

    @classmethod
    def uniform(cls, n: int = len(FEATURES)) -> SourcePolicy:
        return cls(np.zeros(n), 0.0, np.zeros(n), np.ones(n))

    def logits(self, x: np.ndarray) -> np.ndarray:
        return ((np.atleast_2d(x) - self.mean) / self.scale) @ self.weight + self.bias

    def p_evidence(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(x)))

    def answer(self, x: np.ndarray, p_own: np.ndarray, p_ev: np.ndarray) -> np.ndarray:
        w = self.p_evidence(x)
        return w * np.asarray(p_ev) + (1 - w) * np.asarray(p_own)

    def to_json(self) -> dict[str, Any]:
        return {"weights": {f: round(float(v), 4) for f, v in zip(FEATURES, self.weight, strict=True)},
                "bias": round(float(self.bias), 4)}


def train_dpo(x: np.ndarray, chosen: np.ndarray, *, beta: float = 1.0, epochs: int = 200, lr: float = 0.05,
              weight_decay: float = 1e-3, reference: SourcePolicy | None = None, seed: int = 0) -> SourcePolicy:
    """Fit the policy on preference pairs (``chosen``: 1 = evidence was right, 0 = own reading was)."""
    return train_dpo_snapshots(x, chosen, beta=beta, epochs=(epochs,), lr=lr, weight_decay=weight_decay,
                               reference=reference, seed=seed)[epochs]


def train_dpo_snapshots(x: np.ndarray, chosen: np.ndarray, *, beta: float, epochs: Sequence[int], lr: float = 0.05,
                        weight_decay: float = 1e-3, reference: SourcePolicy | None = None, seed: int = 0
                        ) -> dict[int, SourcePolicy]:
    """:func:`train_dpo`, keeping the policy after each of ``epochs`` full-batch steps (one thread: the
    problem is tiny, and more threads only contend)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(np.asarray(x, dtype=np.float64), chosen, beta, epochs, lr, weight_decay, reference, seed)
    finally:
        torch.set_num_threads(threads)


def _train(x: np.ndarray, chosen: np.ndarray, beta: float, epochs: Sequence[int], lr: float, weight_decay: float,
           reference: SourcePolicy | None, seed: int) -> dict[int, SourcePolicy]:
    n_feat = x.shape[1] if x.ndim == 2 else len(FEATURES)
    ref = reference or SourcePolicy.uniform(n_feat)
    if len(x) == 0:
        return {e: SourcePolicy(ref.weight.copy(), ref.bias, ref.mean.copy(), ref.scale.copy()) for e in epochs}
    mean = x.mean(axis=0)
    scale = np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0)
    torch.manual_seed(seed)
    xt = torch.tensor((x - mean) / scale, dtype=torch.float64)
    sign = torch.tensor(np.where(np.asarray(chosen) == EVIDENCE, 1.0, -1.0), dtype=torch.float64)
    with torch.no_grad():
        ref_z = torch.tensor(ref.logits(x), dtype=torch.float64)
    ref_ev, ref_own = torch.nn.functional.logsigmoid(ref_z), torch.nn.functional.logsigmoid(-ref_z)
    # start from the reference, expressed in this policy's standardised features
    w0 = ref.weight / ref.scale * scale
    b0 = ref.bias + float(((mean - ref.mean) / ref.scale) @ ref.weight)
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=lr, weight_decay=weight_decay)
    ev = sign > 0
    out: dict[int, SourcePolicy] = {}
    if 0 in epochs:
        out[0] = SourcePolicy(w0.copy(), b0, mean, scale)
    for step in range(1, max(epochs) + 1):
        opt.zero_grad()
        z = xt @ w + b
        lp_ev, lp_own = torch.nn.functional.logsigmoid(z), torch.nn.functional.logsigmoid(-z)
        loss = dpo_loss(torch.where(ev, lp_ev, lp_own), torch.where(ev, lp_own, lp_ev),
                        torch.where(ev, ref_ev, ref_own), torch.where(ev, ref_own, ref_ev), beta)
        loss.backward()
        opt.step()
        if step in epochs:
            out[step] = SourcePolicy(w.detach().numpy().copy(), float(b.detach()), mean, scale)
    return out


def tune(train: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
         val: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], *, betas: Sequence[float] = (0.1, 0.5, 1.0, 2.0),
         epochs: Sequence[int] = (25, 100, 400), seed: int = 0) -> tuple[SourcePolicy, dict[str, Any]]:
    """Train on ``(x, p_own, p_ev, y)`` pairs of the train questions; pick beta and epochs by val accuracy."""
    x, chosen = preference_pairs(*train)
    vx, vo, ve, vy = val
    table: dict[str, float] = {}
    best: tuple[float, SourcePolicy, str] | None = None
    for beta in betas:
        snaps = train_dpo_snapshots(x, chosen, beta=beta, epochs=epochs, seed=seed)
        for ep in epochs:
            pol = snaps[ep]
            acc = float(np.mean((pol.answer(vx, vo, ve) >= 0.5) == (vy == 1))) if len(vy) else 0.0
            key = f"beta={beta},epochs={ep}"
            table[key] = round(100 * acc, 2)
            if best is None or acc > best[0] + 1e-12:
                best = (acc, pol, key)
    assert best is not None
    base = {"own": round(100 * float(np.mean((vo >= 0.5) == (vy == 1))), 2) if len(vy) else 0.0,
            "evidence": round(100 * float(np.mean((ve >= 0.5) == (vy == 1))), 2) if len(vy) else 0.0}
    return best[1], {"pairs": int(len(chosen)), "chosen_evidence": int(np.sum(chosen)), "val_accuracy": table,
                     "val_single_source": base, "chosen": best[2], "policy": best[1].to_json()}
