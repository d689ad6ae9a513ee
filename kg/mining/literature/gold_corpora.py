"""Readers for the gold corpora the miners are measured against (paths are parameters)."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kg.mining.core.documents import Document
from kg.mining.core.readers import documents_only, parse_pubtator, read_text_file


def read_bc5cdr(path: Path | str, split: str = "") -> list[Document]:
    """A BC5CDR PubTator file as documents with gold mentions and CID pairs."""
    return list(documents_only(parse_pubtator(read_text_file(Path(path)), "bc5cdr", split)))


@dataclass(frozen=True)
class AdeRelation:
    drug: str
    effect: str
    drug_span: tuple[int, int]
    effect_span: tuple[int, int]


@dataclass(frozen=True)
class AdeSentence:
    """One ADE corpus sentence with its gold drug -> adverse effect pairs (none for ADE-NEG)."""

    pmid: str
    text: str
    relations: tuple[AdeRelation, ...]

    @property
    def key(self) -> str:
        return f"{self.pmid}:{self.text}"


def read_ade(folder: Path | str) -> list[AdeSentence]:
    """``DRUG-AE.rel`` (grouped by sentence; offsets made sentence-relative) plus ``ADE-NEG.txt``."""
    folder = Path(folder)
    grouped: dict[tuple[str, str], list[AdeRelation]] = {}
    for line in read_text_file(folder / "DRUG-AE.rel").splitlines():
        cols = line.split("|")
        if len(cols) < 8:
            continue
        pmid, sent, effect, drug = cols[0], cols[1], cols[2], cols[5]
        es, ds = _locate(sent, effect), _locate(sent, drug)
        if es is None or ds is None:
            continue
        grouped.setdefault((pmid, sent), []).append(AdeRelation(drug, effect, ds, es))
    out = [AdeSentence(p, s, tuple(dict.fromkeys(r))) for (p, s), r in grouped.items()]
    seen = {(s.pmid, s.text) for s in out}
    for line in read_text_file(folder / "ADE-NEG.txt").splitlines():
        m = re.match(r"^(\d+)\s+NEG\s+(.*)$", line)
        if m and (m.group(1), m.group(2)) not in seen:
            out.append(AdeSentence(m.group(1), m.group(2).strip(), ()))
            seen.add((m.group(1), m.group(2)))
    return out


def _locate(sentence: str, phrase: str) -> tuple[int, int] | None:
    """Sentence offsets of a phrase (the corpus gives abstract offsets, which the sentence lacks)."""
    i = sentence.find(phrase)
    if i < 0:
        i = sentence.lower().find(phrase.lower())
    return (i, i + len(phrase)) if i >= 0 else None


def split_ade(sentences: list[AdeSentence], *, test_fraction: float = 0.2, seed: int = 13
              ) -> tuple[list[AdeSentence], list[AdeSentence]]:
    """Train / held-out split by PMID (no abstract on both sides), fixed seed."""
    pmids = sorted({s.pmid for s in sentences})
    rng = random.Random(seed)
    rng.shuffle(pmids)
    held = set(pmids[: int(round(len(pmids) * test_fraction))])
    return [s for s in sentences if s.pmid not in held], [s for s in sentences if s.pmid in held]


def iter_cid_pairs(docs: list[Document]) -> Iterator[tuple[str, str, str]]:
    """Gold (pmid, chemical id, disease id) triples of BC5CDR documents."""
    for d in docs:
        for c, dis in d.relations:
            yield (d.doc_id, c, dis)
