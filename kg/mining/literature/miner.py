"""The literature miner: recognise, normalise, read every candidate pair, write claims.

For a batch of documents: the pipeline parses them and finds mentions (learned recogniser + dictionary,
:mod:`.pipeline`); the normaliser gives each mention the id of its idea (abbreviations expanded first,
the concept table first, qualifiers dropped; :mod:`.mentions`); the reader (:mod:`.reading`) reads the
kind, direction, polarity and strength of every related pair with one call per model for the batch; the
claim builder (:mod:`.claim_records`) writes one claim per reading with its scope and provenance.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from spacy.tokens import Span
from threadpoolctl import threadpool_limits

from kg.claims import CausalClaim
from kg.mining.classifiers.corpora import Mention
from kg.mining.core.documents import DocOutput, Document
from kg.mining.literature.claim_records import ClaimBuilder
from kg.mining.literature.mentions import canonical_id, worth_a_mention
from kg.mining.literature.models import LEXICON_FILE, RECOGNISER_DIR, LiteratureModels
from kg.mining.literature.pipeline import build_literature_nlp
from kg.mining.literature.reading import LiteratureReader, ParsedDocument, Reading


class LiteratureMiner:
    """The trained models and the pipeline, built once per worker."""

    def __init__(self, model_dir: Path | str, *, gold_entities: bool = False, min_confidence: float | None = None,
                 batch_size: int = 32, threads: int = 1) -> None:
        self.models = LiteratureModels.load(model_dir)
        folder = Path(model_dir)
        self.gold_entities = gold_entities
        self.nlp = build_literature_nlp(None if gold_entities else folder / RECOGNISER_DIR, folder / LEXICON_FILE,
                                        dictionary=not gold_entities)
        self.normaliser = self.models.normaliser.normaliser()
        self.reader = LiteratureReader(self.models.claims, self.models.scorer)
        self.builder = ClaimBuilder(self.models.normaliser.names, version=self.models.version)
        self.min_confidence = min_confidence
        self.batch_size = batch_size
        self.threads = threads
        """BLAS and OpenMP threads while reading: one per worker process (the miner runs one worker per core;
        more threads only wait on each other, and on a shared machine spin on cores that other jobs hold)."""

    @property
    def version(self) -> str:
        return self.models.version

    def parse(self, docs: Sequence[Document]) -> list[ParsedDocument]:
        """Parse, recognise and normalise (gold mentions, with their ids made canonical, in gold-entity mode)."""
        out = []
        for d, doc in zip(docs, self.nlp.pipe([d.text for d in docs], batch_size=self.batch_size), strict=True):
            if self.gold_entities:
                mentions = tuple(Mention(m.start, m.end, m.text, m.kind, (canonical_id(m.ids[0]),))
                                 for m in d.mentions if m.ids)
            else:
                spans: list[Span] = [e for e in doc.ents if worth_a_mention(e)]
                mentions = tuple(self.normaliser.normalise(doc, spans))
            out.append(ParsedDocument(d.doc_id, d.title_end, doc, mentions))
        return out

    def parse_with(self, docs: Sequence[Document], ranges: Sequence[Sequence[tuple[int, int]]]) -> list[ParsedDocument]:
        """Parse, and take the given character ranges as the mentions: the kind of the recognised mention a
        range overlaps (``Disease`` when it overlaps none), the id the normaliser gives it (regression
        checks with the mentions fixed)."""
        out = []
        for d, doc, rs in zip(docs, self.nlp.pipe([d.text for d in docs], batch_size=self.batch_size), ranges,
                              strict=True):
            spans = []
            for start, end in rs:
                span = doc.char_span(start, end, alignment_mode="expand")
                if span is None:
                    continue
                kind = next((e.label_ for e in doc.ents if e.start < span.end and span.start < e.end), "Disease")
                kb = next((e.kb_id_ for e in doc.ents if (e.start, e.end) == (span.start, span.end)), "")
                spans.append(Span(doc, span.start, span.end, label=kind, kb_id=kb))
            out.append(ParsedDocument(d.doc_id, d.title_end, doc, tuple(self.normaliser.normalise(doc, spans))))
        return out

    def read_parsed(self, parsed: Sequence[ParsedDocument]) -> list[list[Reading]]:
        """What each parsed document says about its related pairs, below ``min_confidence`` left out."""
        readings = self.reader.read(parsed)
        if self.min_confidence is not None:
            readings = [[r for r in rs if r.confidence >= self.min_confidence] for rs in readings]
        return readings

    def read(self, docs: Sequence[Document]) -> list[list[Reading]]:
        """What each document says about its related pairs (before claims are built)."""
        with threadpool_limits(limits=self.threads):
            return self.read_parsed(self.parse(docs))

    def mine(self, docs: Sequence[Document], when: datetime | None = None) -> list[DocOutput]:
        when = when or datetime.now(UTC)
        out = []
        for d, rs in zip(docs, self.read(docs), strict=True):
            claims: list[CausalClaim] = []
            for r in rs:
                c = self.builder.claim(r, d, when)
                if c is not None:
                    claims.append(c)
            out.append(DocOutput(d.doc_id, tuple(claims)))
        return out
