"""Training every model of the literature miner into one folder (:mod:`.models`), from the shared corpora.

What each part learns from (the held-out parts of the benchmark, ``benchmarks/mining_models.py``, are never
read here, so the product's models are the ones the benchmark scores):

* recogniser: BC5CDR training + BioRED training mentions (:class:`~kg.mining.classifiers.training.LiteratureCorpora`
  leaves out the abstracts shared with BC5CDR development and BioRED test);
* dictionary lexicon: BC5CDR training mentions + the Disease Ontology and HPO (``ontology_dir``);
* normaliser: the recogniser's training mentions, plus the names of BioRED development and test mentions
  (a name -> id dictionary; abstracts that are BC5CDR development abstracts left out), then the lexicon;
  nearest-name thresholds by 4-fold cross-validation over the recogniser's training abstracts;
* relation kinds and the document scorer: BC5CDR training, BioRED training, the ADE training part (PMID
  split, seed 13);
* negation: the first half of the NegEx set (stratified 50/50 split, seed 0);
* claim strength: 80 % of Yu et al. (stratified, seed 0).

Hyperparameters are the ones cross-validation chose on those training parts (``tune=True`` repeats the
search; it adds a few minutes).
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kg.mining.classifiers.claim_strength import train_claim_strength
from kg.mining.classifiers.corpora import (
    Abstract,
    read_claim_strength,
    read_negex,
    read_pubtator,
    stratified_split,
)
from kg.mining.classifiers.document_relations import train_document_scorer
from kg.mining.classifiers.entity_recognizer import EntityRecognizer, train_entity_recognizer
from kg.mining.classifiers.negation import train_negation
from kg.mining.classifiers.normalise import choose_similarity, corpus_terms, term_key
from kg.mining.classifiers.pair_claims import NEGATION_DIR, RELATION_DIR, STRENGTH_DIR
from kg.mining.classifiers.relation_kinds import train_relation_kinds
from kg.mining.classifiers.training import LiteratureCorpora, parse_abstracts, relation_examples
from kg.mining.literature.gold_corpora import read_ade, read_bc5cdr, split_ade
from kg.mining.literature.lexicon import EntityLexicon, build_lexicon
from kg.mining.literature.models import (
    DOCUMENT_DIR,
    LEXICON_FILE,
    MANIFEST_FILE,
    NORMALISER_FILE,
    RECOGNISER_DIR,
    NormaliserBundle,
)

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

STRENGTH_HELD_OUT = (0.2, 0)
"""(fraction, seed) of Yu et al.'s corpus kept out of training: the benchmark's held-out part."""
NEGATION_HELD_OUT = (0.5, 0)
"""(fraction, seed) of the NegEx set kept out of training."""
ADE_SEED = 13


@dataclass(frozen=True)
class Settings:
    """Hyperparameters; the defaults are what cross-validation chose on the training parts."""

    recogniser_epochs: int = 12
    recogniser_width: int = 96
    recogniser_depth: int = 2
    recogniser_embed_size: int = 5000
    kinds_c: float = 0.1
    strength_c: float = 0.3
    negation_c: float = 10.0
    ade_negative_sentences: int = 3000
    tune: bool = False
    """Repeat the cross-validated searches instead of taking the values above."""


def _say(progress: Progress | None, msg: str) -> None:
    log.info(msg)
    if progress is not None:
        progress(msg)


def train_literature_models(model_dir: Path | str, literature_dir: Path | str, *,
                            ontology_dir: Path | str | None = None, settings: Settings | None = None,
                            retrain_recogniser: bool = False, progress: Progress | None = None) -> dict[str, Any]:
    """Train every model into ``model_dir`` and write its manifest; returns the manifest.

    A recogniser already in the folder is kept unless ``retrain_recogniser`` (it is the slowest part). The
    folder is written part by part; the manifest, written last, marks it complete.
    """
    cfg = settings or Settings()
    out = Path(model_dir)
    lit = Path(literature_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST_FILE).unlink(missing_ok=True)
    started = time.perf_counter()
    report: dict[str, Any] = {}
    corpora = LiteratureCorpora.read(lit)

    rec_dir = out / RECOGNISER_DIR
    if retrain_recogniser or not (rec_dir / "ner").is_dir():
        _say(progress, f"training the recogniser ({cfg.recogniser_epochs} epochs)")
        if rec_dir.exists():
            shutil.rmtree(rec_dir)
        train_entity_recognizer(corpora.recogniser_training(), rec_dir, epochs=cfg.recogniser_epochs,
                                width=cfg.recogniser_width, depth=cfg.recogniser_depth,
                                embed_size=cfg.recogniser_embed_size,
                                progress=lambda e, loss: _say(progress, f"  recogniser epoch {e}: loss {loss:.0f}"))
    recogniser = EntityRecognizer(rec_dir)
    report["recogniser"] = recogniser.meta

    _say(progress, "building the dictionary lexicon and the normaliser")
    bc5_train = read_bc5cdr(lit / "bc5cdr" / "CDR_TrainingSet.PubTator.txt", "train")
    lexicon = build_lexicon(ontology_dir if ontology_dir and Path(ontology_dir).is_dir() else None, bc5_train)
    lexicon.save(out / LEXICON_FILE)
    bundle = _normaliser(corpora, lexicon, lit, cfg)
    bundle.save(out / NORMALISER_FILE)
    report["lexicon_terms"] = len(lexicon)
    report["normaliser"] = bundle.report

    _say(progress, "relation examples (BC5CDR training, BioRED training, ADE training part)")
    ade_train, _ = split_ade(read_ade(lit / "ade_corpus_v2"), seed=ADE_SEED)
    docs = parse_abstracts(corpora.bc5cdr_train)
    examples = relation_examples(corpora, ade_train, recogniser=recogniser, bc5cdr_docs=docs,
                                 ade_negative_sentences=cfg.ade_negative_sentences,
                                 progress=lambda m: _say(progress, "  " + m))
    grid = (0.03, 0.1, 0.3) if cfg.tune else (cfg.kinds_c,)
    kinds = train_relation_kinds(examples, c_grid=grid, cross_validate=cfg.tune)
    kinds.save(out / RELATION_DIR)
    report["relation_kinds"] = kinds.report
    _say(progress, "document scorer (out-of-fold sentence models)")
    scorer = train_document_scorer(corpora.bc5cdr_train, docs, examples, c=kinds.report["C"],
                                   progress=lambda m: _say(progress, "  " + m))
    scorer.save(out / DOCUMENT_DIR)
    report["document_relations"] = {k: v for k, v in scorer.report.items() if k != "sentence_model"}

    _say(progress, "negation (NegEx, training half)")
    neg_rows = read_negex(lit / "negex" / "rsAnnotations-1-120-random.txt")
    tr, _ = stratified_split([r.negated for r in neg_rows], NEGATION_HELD_OUT[0], seed=NEGATION_HELD_OUT[1])
    negation = train_negation([neg_rows[i] for i in tr], c=cfg.negation_c,
                              c_grid=(1.0, 3.0, 10.0) if cfg.tune else None)
    negation.save(out / NEGATION_DIR)
    report["negation"] = negation.report

    _say(progress, "claim strength (Yu et al., training 80 %)")
    rows = read_claim_strength(lit / "causal_language" / "pubmed_causal_language_use.csv")
    tr, _ = stratified_split([r.label for r in rows], STRENGTH_HELD_OUT[0], seed=STRENGTH_HELD_OUT[1])
    strength = train_claim_strength([rows[i] for i in tr], c_grid=(0.1, 0.3, 1.0) if cfg.tune else (cfg.strength_c,),
                                    folds=5 if cfg.tune else 2)
    strength.save(out / STRENGTH_DIR)
    report["claim_strength"] = strength.report

    manifest = {"trained_at": datetime.now(UTC).isoformat(timespec="seconds"), "literature_dir": str(lit),
                "ontology_dir": str(ontology_dir) if ontology_dir else None, "settings": cfg.__dict__,
                "training_seconds": round(time.perf_counter() - started, 1), "models": report}
    tmp = out / (MANIFEST_FILE + ".part")
    tmp.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    tmp.replace(out / MANIFEST_FILE)
    _say(progress, f"literature models trained into {out} in {manifest['training_seconds']} s")
    return manifest


def _extra_names(lit: Path, corpora: LiteratureCorpora) -> list[Abstract]:
    """BioRED development and test abstracts as a name dictionary (BC5CDR development abstracts left out)."""
    dev_ids = {a.pmid for a in corpora.bc5cdr_dev}
    out = []
    for name in ("Dev.PubTator", "Test.PubTator"):
        path = lit / "biored" / name
        if path.is_file():
            out += [a for a in read_pubtator(path) if a.pmid not in dev_ids]
    return out


def _normaliser(corpora: LiteratureCorpora, lexicon: EntityLexicon, lit: Path, cfg: Settings) -> NormaliserBundle:
    training = corpora.recogniser_training()
    extra = {t: (e.concept_id, e.kind) for t, e in {**lexicon.terms, **lexicon.exact}.items()}
    named = training + _extra_names(lit, corpora)
    terms = corpus_terms(named, extra)
    report: dict[str, Any] = {"terms": len(terms), "name_sources": ["recogniser training", "BioRED dev + test names",
                                                                    "lexicon"]}
    similarity: dict[str, float] = {}
    order = list(range(len(training)))
    random.Random(0).shuffle(order)
    folds = [order[k::4] for k in range(4)]
    for kind in ("Chemical", "Disease"):
        data = []
        for held in folds:
            held_set = set(held)
            rest = [a for i, a in enumerate(training) if i not in held_set]
            data.append((corpus_terms(rest, extra), [m for i in held for m in training[i].mentions]))
        threshold, rep = choose_similarity(data, kind)
        report[f"nearest_name_{kind.lower()}"] = {"threshold": threshold, **rep}
        if threshold is not None:
            similarity[kind] = threshold
    return NormaliserBundle(terms, similarity, _names(named, lexicon), report)


def _names(abstracts: Sequence[Abstract], lexicon: EntityLexicon) -> dict[str, str]:
    """Each external id's most frequent surface form in the corpora, else the lexicon's label."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for a in abstracts:
        for m in a.mentions:
            if m.ids and m.kind in ("Chemical", "Disease"):
                counts[m.ids[0]][term_key(m.text)] += 1
    names = {cid: c.most_common(1)[0][0] for cid, c in counts.items()}
    for cid, label in lexicon.labels().items():
        names.setdefault(cid, label)
    return names
