"""Training the literature classifiers from the shared corpora (the data folder is a parameter).

Which abstracts and sentences each model learns from, and which are kept out:

* BioRED training abstracts that are also BC5CDR development abstracts (44) are left out of every
  model (those that are also BC5CDR training abstracts are read once by the recogniser), since BC5CDR development is where the recogniser and the relation scorer are measured;
  BC5CDR training abstracts that are also BioRED test abstracts (10) are left out of the relation
  models, since BioRED test is where the relation types are measured.
* ADE: the PMID split of :func:`kg.mining.literature.gold_corpora.split_ade` is passed in by the caller
  (training part only); ADE-NEG training sentences give ``none`` pairs through the recogniser.
* Yu et al. and NegEx: the caller passes the training part of its fixed split.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spacy.tokens import Doc, Span

from kg.mining.classifiers.corpora import Abstract, read_pubtator
from kg.mining.classifiers.entity_recognizer import EntityRecognizer
from kg.mining.classifiers.relation_kinds import PairExample, ade_examples, bc5cdr_examples, biored_examples
from kg.mining.classifiers.text_features import parse

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LiteratureCorpora:
    """The PubTator corpora, read once, with the overlaps described in the module docstring removed."""

    bc5cdr_train: list[Abstract]
    bc5cdr_dev: list[Abstract]
    biored_train: list[Abstract]
    biored_test: list[Abstract]

    @classmethod
    def read(cls, literature_dir: Path | str) -> LiteratureCorpora:
        d = Path(literature_dir)
        dev = read_pubtator(d / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt")
        test = read_pubtator(d / "biored" / "Test.PubTator")
        dev_ids = {a.pmid for a in dev}
        test_ids = {a.pmid for a in test}
        train = [a for a in read_pubtator(d / "bc5cdr" / "CDR_TrainingSet.PubTator.txt") if a.pmid not in test_ids]
        biored = [a for a in read_pubtator(d / "biored" / "Train.PubTator")
                  if a.pmid not in dev_ids and a.pmid not in test_ids]
        return cls(train, dev, biored, test)

    def recogniser_training(self) -> list[Abstract]:
        """BC5CDR training, then the BioRED training abstracts that BC5CDR training does not hold already."""
        seen = {a.pmid for a in self.bc5cdr_train}
        return self.bc5cdr_train + [a for a in self.biored_train if a.pmid not in seen]


def recognise_with(recogniser: EntityRecognizer) -> Callable[[Sequence[Doc]], list[list[Span]]]:
    """The recogniser as the ``recognise`` callable :func:`ade_examples` expects."""
    def run(docs: Sequence[Doc]) -> list[list[Span]]:
        return [list(recogniser(d).ents) for d in docs]
    return run


def dictionary_recognise(abstracts: Sequence[Abstract]) -> Callable[[Sequence[Doc]], list[list[Span]]]:
    """A stand-in recogniser: the gold chemical and disease names of ``abstracts``, matched by lower case."""
    from spacy.matcher import PhraseMatcher
    from spacy.util import filter_spans

    from kg.mining.classifiers.text_features import parser

    nlp = parser()
    names: dict[str, str] = {}
    for a in abstracts:
        for m in a.mentions:
            if m.kind in ("Chemical", "Disease") and len(m.text) > 3:
                names.setdefault(m.text.lower(), m.kind)
    matchers = {}
    for kind in ("Chemical", "Disease"):
        matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        matcher.add(kind, [nlp.make_doc(t) for t, k in names.items() if k == kind])
        matchers[kind] = matcher

    def run(docs: Sequence[Doc]) -> list[list[Span]]:
        out = []
        for d in docs:
            spans = [Span(d, s, e, label=kind) for kind, m in matchers.items() for _, s, e in m(d)]
            out.append(filter_spans(spans))
        return out
    return run


def relation_examples(corpora: LiteratureCorpora, ade_train: Sequence[Any], *,
                      recogniser: EntityRecognizer | None = None, ade_negative_sentences: int = 3000,
                      seed: int = 0, bc5cdr_docs: Sequence[Doc] | None = None,
                      progress: Progress | None = None) -> list[PairExample]:
    """Sentence-level pairs of BC5CDR training, BioRED training and the ADE training part.

    ``ade_negative_sentences`` ADE-NEG sentences (a fixed-seed sample) add ``none`` pairs between the
    chemicals and diseases the recogniser finds in them (without one, the training corpora's gold names).
    """
    out = bc5cdr_examples(corpora.bc5cdr_train, bc5cdr_docs)
    if progress:
        progress(f"BC5CDR training pairs: {len(out)}")
    biored = biored_examples(corpora.biored_train)
    out += biored
    if progress:
        progress(f"BioRED training pairs: {len(biored)}")
    pos = [s for s in ade_train if s.relations]
    neg = [s for s in ade_train if not s.relations]
    random.Random(seed).shuffle(neg)
    recognise = recognise_with(recogniser) if recogniser else dictionary_recognise(corpora.recogniser_training())
    ade = ade_examples(pos + neg[:ade_negative_sentences], recognise)
    out += ade
    if progress:
        progress(f"ADE training pairs: {len(ade)}")
    return out


def parse_abstracts(abstracts: Sequence[Abstract]) -> list[Doc]:
    return parse([a.text for a in abstracts])
