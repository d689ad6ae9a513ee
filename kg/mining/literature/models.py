"""The literature miner's trained models: one folder, one manifest, loaded together.

Layout of the folder (``<MCRAG_HOME>/models/literature`` by default)::

    recognizer/           spaCy pipeline of the chemical / disease recogniser
    lexicon.json          ontology + corpus terms for the dictionary matcher
    normaliser.pkl        term table, nearest-name thresholds and the names of outside ids
    relation_kinds/       relation-kind model (causes / treats / prevents / associated / none, direction)
    document_relations/   document-level chemical -> disease scorer
    negation/             negation model
    claim_strength/       claim-strength model
    literature_models.json  manifest: when, from what, with which settings, and each model's report
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.mining.classifiers.claim_strength import ClaimStrengthModel
from kg.mining.classifiers.document_relations import DocumentRelationScorer
from kg.mining.classifiers.negation import NegationModel
from kg.mining.classifiers.normalise import ConceptNormalizer
from kg.mining.classifiers.pair_claims import NEGATION_DIR, RELATION_DIR, STRENGTH_DIR, PairClaimReader
from kg.mining.classifiers.relation_kinds import RelationKindModel

RECOGNISER_DIR = "recognizer"
LEXICON_FILE = "lexicon.json"
NORMALISER_FILE = "normaliser.pkl"
DOCUMENT_DIR = "document_relations"
MANIFEST_FILE = "literature_models.json"

REQUIRED: tuple[str, ...] = (f"{RECOGNISER_DIR}/ner", LEXICON_FILE, NORMALISER_FILE, f"{RELATION_DIR}/relation_kinds.pkl",
                             f"{DOCUMENT_DIR}/document_relations.pkl", f"{NEGATION_DIR}/negation.pkl",
                             f"{STRENGTH_DIR}/claim_strength.pkl", MANIFEST_FILE)


def missing_files(model_dir: Path | str) -> list[str]:
    """The parts of a model folder that are absent (empty: the folder is complete)."""
    d = Path(model_dir)
    return [p for p in REQUIRED if not (d / p).exists()]


@dataclass
class NormaliserBundle:
    """What the mention normaliser needs besides the code: the term table, thresholds and names."""

    terms: dict[str, tuple[str, str]]
    similarity: dict[str, float]
    names: dict[str, str]
    """External id -> a name (the surface form the corpora use most for it)."""
    report: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> Path:
        tmp = path.with_name(path.name + ".part")
        with tmp.open("wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> NormaliserBundle:
        with path.open("rb") as fh:
            obj = pickle.load(fh)  # noqa: S301 - our own artefact, written by save()
        if not isinstance(obj, cls):
            raise ValueError(f"{path} does not hold a NormaliserBundle")
        return obj

    def normaliser(self) -> ConceptNormalizer:
        """The normaliser as the miner runs it: concept table first, qualifiers dropped, ids canonical."""
        from kg.mining.literature.mentions import canonical_id, qualifier, table_lookup

        norm = ConceptNormalizer(self.terms, canonical=canonical_id, lookup_first=table_lookup, skip=qualifier)
        return norm.with_similarity(self.similarity)


@dataclass
class LiteratureModels:
    """Every trained part of the literature miner."""

    folder: Path
    normaliser: NormaliserBundle
    claims: PairClaimReader
    scorer: DocumentRelationScorer
    manifest: dict[str, Any]

    @classmethod
    def load(cls, model_dir: Path | str) -> LiteratureModels:
        d = Path(model_dir)
        gone = missing_files(d)
        if gone:
            raise FileNotFoundError(f"the literature models in {d} are incomplete (missing {', '.join(gone)}); "
                                    "train them with `mcrag mine train-relations`")
        claims = PairClaimReader(RelationKindModel.load(d / RELATION_DIR), NegationModel.load(d / NEGATION_DIR),
                                 ClaimStrengthModel.load(d / STRENGTH_DIR))
        return cls(d, NormaliserBundle.load(d / NORMALISER_FILE), claims, DocumentRelationScorer.load(d / DOCUMENT_DIR),
                   json.loads((d / MANIFEST_FILE).read_text(encoding="utf-8")))

    @property
    def version(self) -> str:
        return str(self.manifest.get("trained_at", "unknown"))
