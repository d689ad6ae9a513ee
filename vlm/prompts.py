"""One prompt format for training and inference, encoded field by field under token budgets.

The decoder sees ``<task> <findings> ... <evidence> ... <similar> ... <question> ... <answer>``.
Findings come from any front end (the image head or an injected probability vector); evidence is
the compact causal-subgraph text; "similar" is the text of the best retrieved exemplar. Each field
is truncated on its own budget, so a long question never pushes the evidence out, and the training
code and the inference code cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from vlm.labels import LABELS, label_text
from vlm.tokenizer import SEP

TASKS: tuple[str, ...] = ("report", "diagnose", "vqa")
POSITIVE = 0.5
POSSIBLE = 0.3


def findings_text(probs: Mapping[str, float], positive: float = POSITIVE, possible: float = POSSIBLE) -> str:
    """``pleural effusion; cardiomegaly; possible atelectasis`` or ``no acute findings``."""
    sure = sorted(((p, n) for n, p in probs.items() if n in LABELS and n != "normal" and p >= positive),
                  reverse=True)
    maybe = sorted(((p, n) for n, p in probs.items()
                    if n in LABELS and n != "normal" and possible <= p < positive), reverse=True)
    parts = [label_text(n) for _, n in sure] + [f"possible {label_text(n)}" for _, n in maybe]
    return "; ".join(parts) if parts else "no acute findings"


@dataclass(frozen=True)
class Prompt:
    task: str
    findings: str
    evidence: str | None = None
    similar: str | None = None
    question: str | None = None
    probabilities: tuple[float, ...] | None = None
    """Label-ordered finding probabilities behind ``findings`` (read by models with a findings token)."""

    def text(self) -> str:
        parts = [f"<{self.task}>", f"<findings> {self.findings}"]
        if self.evidence:
            parts.append(f"<evidence> {self.evidence}")
        if self.similar:
            parts.append(f"<similar> {self.similar}")
        if self.question:
            parts.append(f"<question> {self.question}")
        parts.append("<answer>")
        return " ".join(parts)


def _ids(tok: PreTrainedTokenizerBase, text: str, budget: int) -> list[int]:
    return list(tok(text, add_special_tokens=False).input_ids[:budget])


def encode_prompt(tok: PreTrainedTokenizerBase, prompt: Prompt, budget: Mapping[str, int]) -> list[int]:
    """Token ids of ``prompt``, each field cut to its budget (``findings``, ``evidence`` ...)."""
    def special(token: str) -> int:
        return int(tok.convert_tokens_to_ids(token))  # type: ignore[arg-type]

    ids = [special(f"<{prompt.task}>"), special("<findings>")]
    ids += _ids(tok, prompt.findings, budget.get("findings", 24))
    for field, value in (("evidence", prompt.evidence), ("similar", prompt.similar), ("question", prompt.question)):
        if value:
            ids.append(special(f"<{field}>"))
            ids += _ids(tok, value, budget.get(field, 40))
    ids.append(special("<answer>"))
    return ids


def encode_target(tok: PreTrainedTokenizerBase, text: str, budget: Mapping[str, int]) -> list[int]:
    """Target ids followed by end-of-sequence."""
    return _ids(tok, text, budget.get("target", 96)) + [int(tok.eos_token_id)]


def evidence_prompt_text(lines: str, max_lines: int = 4) -> str:
    """Evidence lines (``E1 a causes b [accepted 1.00]``) joined for one prompt field."""
    kept = [ln.strip() for ln in lines.splitlines() if ln.strip()][:max_lines]
    return f" {SEP} ".join(kept) if kept else ""


def first_sentences(text: str, max_chars: int = 220) -> str:
    """Leading sentences of an exemplar's text, cut at a sentence end when possible."""
    t = " ".join(text.split())
    if len(t) <= max_chars:
        return t
    cut = t[:max_chars]
    end = cut.rfind(". ")
    return cut[:end + 1] if end > 40 else cut
