"""Readers for the corpora the literature classifiers learn from (paths are parameters).

* Yu et al. 2019 claim-strength sentences (``pubmed_causal_language_use.csv``);
* the NegEx test set (``rsAnnotations-1-120-random.txt``): a condition in a clinical sentence, negated
  or affirmed;
* BioRED PubTator files: mentions of six entity types and document-level relations typed
  Association / Positive_Correlation / Negative_Correlation / ...;
* BC5CDR PubTator files through the same reader (their relation lines are ``CID``).
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kg.mining.core.documents import Mention

STRENGTH_LABELS: tuple[str, ...] = ("none", "direct", "conditional", "correlational")
"""Yu et al.'s classes 0-3: no relation, direct causal, conditional (hedged) causal, correlational."""


@dataclass(frozen=True)
class StrengthSentence:
    text: str
    label: str
    """One of :data:`STRENGTH_LABELS`."""


def read_claim_strength(path: Path | str) -> list[StrengthSentence]:
    """The Yu et al. corpus: one conclusion sentence and its claim-strength class per row."""
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=2):
            try:
                label = STRENGTH_LABELS[int(row["label"])]
            except (KeyError, ValueError, IndexError):
                raise ValueError(f"{path}:{i}: label must be 0-3, got {row.get('label')!r}") from None
            text = " ".join((row.get("sentence") or "").split())
            if text:
                out.append(StrengthSentence(text, label))
    return out


@dataclass(frozen=True)
class NegationExample:
    """A condition mentioned in a sentence and whether the sentence negates it."""

    condition: str
    sentence: str
    negated: bool


def read_negex(path: Path | str) -> list[NegationExample]:
    """The NegEx annotation file (tab-separated: line, condition, sentence, negation status, ...)."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        next(fh, None)
        for line in fh:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 4:
                continue
            status = cols[3].strip().lower()
            if status not in ("negated", "affirmed"):
                continue
            out.append(NegationExample(cols[1].strip(), cols[2].strip(), status == "negated"))
    return out


def stratified_split(labels: Sequence[object], test_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices of a train / held-out split that keeps each label's share (fixed seed)."""
    rng = random.Random(seed)
    by_label: dict[object, list[int]] = {}
    for i, y in enumerate(labels):
        by_label.setdefault(y, []).append(i)
    train: list[int] = []
    held: list[int] = []
    for y in sorted(by_label, key=str):
        idx = by_label[y][:]
        rng.shuffle(idx)
        k = int(round(len(idx) * test_fraction))
        held += idx[:k]
        train += idx[k:]
    return sorted(train), sorted(held)


@dataclass(frozen=True)
class Relation:
    kind: str
    """``CID`` (BC5CDR) or a BioRED type such as ``Positive_Correlation``."""
    id1: str
    id2: str
    novel: bool = False


@dataclass(frozen=True)
class Abstract:
    """Title + one space + abstract, with gold mentions and document-level relations."""

    pmid: str
    text: str
    title_end: int
    mentions: tuple[Mention, ...]
    relations: tuple[Relation, ...]

    def kinds_of(self, concept: str) -> set[str]:
        return {m.kind for m in self.mentions if concept in m.ids}


_KIND = {"ChemicalEntity": "Chemical", "DiseaseOrPhenotypicFeature": "Disease", "GeneOrGeneProduct": "Gene",
         "SequenceVariant": "Variant", "OrganismTaxon": "Species", "CellLine": "CellLine",
         "Chemical": "Chemical", "Disease": "Disease"}


def _curie(raw: str, kind: str) -> str:
    raw = raw.strip()
    if re.fullmatch(r"[CD]\d{6,}", raw):
        return "MESH:" + raw
    if raw.startswith("MESH:"):
        return raw
    return f"{kind}:{raw}"


def read_pubtator(path: Path | str) -> list[Abstract]:
    """A PubTator file (BC5CDR or BioRED) as abstracts; MeSH ids become ``MESH:`` CURIEs."""
    text = Path(path).read_text(encoding="utf-8")
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        title = abstract = pmid = ""
        mentions: list[Mention] = []
        relations: list[Relation] = []
        for ln in block.splitlines():
            if "|t|" in ln[:30]:
                pmid, _, title = ln.partition("|t|")
            elif "|a|" in ln[:30]:
                pmid, _, abstract = ln.partition("|a|")
            elif ln.strip():
                cols = ln.split("\t")
                if len(cols) >= 5 and cols[1].isdigit():
                    kind = _KIND.get(cols[4], cols[4])
                    ids = tuple(_curie(x, kind) for x in re.split(r"[|,;]", cols[5] if len(cols) > 5 else "")
                                if x.strip() and x.strip() != "-1")
                    mentions.append(Mention(int(cols[1]), int(cols[2]), cols[3], kind, ids))
                elif len(cols) >= 4:
                    novel = len(cols) > 4 and cols[4].strip() == "Novel"
                    relations.append(Relation(cols[1], _curie(cols[2], ""), _curie(cols[3], ""), novel))
        if pmid:
            out.append(Abstract(pmid, f"{title} {abstract}" if abstract else title, len(title), tuple(mentions),
                                tuple(relations)))
    return _fix_relation_ids(out)


def _fix_relation_ids(docs: list[Abstract]) -> list[Abstract]:
    """Relation lines carry bare ids; give them the CURIE their mentions use in the same abstract."""
    fixed = []
    for d in docs:
        by_bare = {i.split(":", 1)[1]: i for m in d.mentions for i in m.ids}
        rels = tuple(Relation(r.kind, by_bare.get(r.id1.split(":", 1)[1], r.id1),
                              by_bare.get(r.id2.split(":", 1)[1], r.id2), r.novel) for r in d.relations)
        fixed.append(Abstract(d.pmid, d.text, d.title_end, d.mentions, rels))
    return fixed
