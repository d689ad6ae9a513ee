"""The literature miner's entity dictionary: surface term -> concept id, label and kind.

Sources, in order of trust: the training corpus's own gold mentions (BC5CDR training abstracts give
chemical and disease names with MeSH ids), then the Disease Ontology (names and synonyms, MeSH through
its ``MSH`` cross-references) and HPO (names and synonyms, MeSH through UMLS CUIs shared with the
Disease Ontology). Terms that the training abstracts mostly use as ordinary words are dropped.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kg.mining.core.documents import Document
from kg.mining.literature.obo import OboTerm, read_obo

log = logging.getLogger(__name__)

LEXICON_FILE = "lexicon.json"
_WS = re.compile(r"\s+")
_STOP = frozenset({
    "a", "an", "the", "and", "or", "of", "in", "on", "to", "for", "with", "by", "at", "as", "is", "be", "was",
    "all", "can", "may", "use", "used", "air",
    "drug", "drugs", "agent", "agents", "dose", "doses", "control", "controls", "patient", "patients",
    "disease", "diseases", "disorder", "syndrome", "symptom", "sign", "signs", "finding", "growth",
    "death", "weight", "mass", "cell", "cells", "increase", "decrease", "low", "high", "normal",
    "abnormal", "abnormality", "change", "changes", "effect", "effects", "response", "failure", "injury",
    "damage", "lesion", "lesions", "stress", "shock", "block", "tone", "rat", "rats", "mice", "man", "men",
})


def normalise(term: str) -> str:
    """Lower-case, single-spaced form used as the dictionary key."""
    return _WS.sub(" ", term.strip().lower())


@dataclass(frozen=True)
class LexEntry:
    """What a term means: a CURIE (``MESH:D003000``, ``DOID:1234``, ``HP:0001250``), a label and a kind."""

    concept_id: str
    label: str
    kind: str
    """``Chemical`` or ``Disease``."""
    source: str = ""


@dataclass
class EntityLexicon:
    """Terms and their entries; saved as JSON next to the relation model.

    ``terms`` match whatever the case; ``exact`` terms (short forms such as ``NO``, ``Mg``, ``ALL``) match
    only as written, since their lower-case forms are ordinary words.
    """

    terms: dict[str, LexEntry]
    exact: dict[str, LexEntry] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.terms) + len(self.exact)

    def get(self, term: str) -> LexEntry | None:
        return self.exact.get(term) or self.terms.get(normalise(term))

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = {t: [e.concept_id, e.label, e.kind, e.source] for t, e in sorted(self.terms.items())}
        exact = {t: [e.concept_id, e.label, e.kind, e.source] for t, e in sorted(self.exact.items())}
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(json.dumps({"version": 2, "terms": rows, "exact": exact}, ensure_ascii=False),
                       encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path | str) -> EntityLexicon:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls({t: LexEntry(*v) for t, v in data["terms"].items()},
                   {t: LexEntry(*v) for t, v in data.get("exact", {}).items()})

    def labels(self) -> dict[str, str]:
        """Concept id -> a label (the label its entries give it)."""
        return {e.concept_id: e.label for e in self.terms.values()}

    def as_dict(self) -> dict[str, dict[str, str]]:
        return {t: asdict(e) for t, e in self.terms.items()}


def _mesh(xref: str) -> str:
    return "MESH:" + xref.split(":", 1)[1]


def _plural(term: str) -> str | None:
    last = term.rsplit(" ", 1)[-1]
    if len(last) < 4 or last.endswith(("s", "x", "y", "ia")):
        return None
    return term + "s"


def ontology_terms(ontology_dir: Path | str) -> dict[str, LexEntry]:
    """Disease terms from ``HumanDO_legacy.obo`` and ``hp.obo`` (whichever of the two exist)."""
    ontology_dir = Path(ontology_dir)
    out: dict[str, LexEntry] = {}
    umls_to_mesh: dict[str, str] = {}
    doid = ontology_dir / "HumanDO_legacy.obo"
    if doid.is_file():
        for t in read_obo(doid):
            if t.obsolete:
                continue
            mesh = [_mesh(x) for x in t.xrefs_with("MSH", "MESH")]
            cid = mesh[0] if mesh else t.id
            for u in t.xrefs_with("UMLS_CUI", "UMLS"):
                if mesh:
                    umls_to_mesh.setdefault(u.split(":", 1)[1], mesh[0])
            _add_term(out, t, cid, "doid")
    hp = ontology_dir / "hp.obo"
    if hp.is_file():
        for t in read_obo(hp):
            if t.obsolete or not t.id.startswith("HP:"):
                continue
            mesh = [umls_to_mesh[u.split(":", 1)[1]] for u in t.xrefs_with("UMLS") if u.split(":", 1)[1] in umls_to_mesh]
            _add_term(out, t, mesh[0] if mesh else t.id, "hpo")
    return out


def _add_term(out: dict[str, LexEntry], t: OboTerm, cid: str, source: str) -> None:
    names = [t.name] + [s for s, scope in t.synonyms if scope in ("EXACT", "RELATED")]
    for name in names:
        key = normalise(name)
        if len(key) < 5 or key in _STOP or "," in key:
            continue
        entry = LexEntry(cid, t.name, "Disease", source)
        out.setdefault(key, entry)
        plural = _plural(key)
        if plural:
            out.setdefault(plural, entry)


def is_short_form(text: str) -> bool:
    """An abbreviation or formula (``NO``, ``Mg``, ``MTX``, ``PO2``) that must match case-sensitively.

    A capitalised ordinary word ("Manic" at a sentence start) is not one.
    """
    if len(text) > 5 or text == text.lower():
        return False
    return len(text) <= 3 or any(c.isupper() or c.isdigit() for c in text[1:])


def training_terms(docs: Iterable[Document], *, min_share: float = 0.5) -> tuple[dict[str, LexEntry], dict[str, LexEntry]]:
    """Terms of the corpus's gold mentions, each mapped to the id it most often carries.

    Returns (case-insensitive terms, exact-case short forms).
    """
    ids: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for d in docs:
        for m in d.mentions:
            if not m.ids:
                continue
            key = m.text.strip() if is_short_form(m.text.strip()) else normalise(m.text)
            ids[key][(m.ids[0], m.kind)] += 1
    out: dict[str, LexEntry] = {}
    for term, counter in ids.items():
        (cid, kind), n = counter.most_common(1)[0]
        if n / sum(counter.values()) < min_share or len(term) < 2 or term.lower() in _STOP - {"pain"}:
            continue
        out[term] = LexEntry(cid, term, kind, "training")
    # a better label for each id: its most frequent surface form
    by_id: dict[str, Counter[str]] = defaultdict(Counter)
    for term, counter in ids.items():
        for (cid, _), n in counter.items():
            by_id[cid][term] += n
    labelled = {t: LexEntry(e.concept_id, by_id[e.concept_id].most_common(1)[0][0], e.kind, e.source)
                for t, e in out.items()}
    return ({t: e for t, e in labelled.items() if not is_short_form(t)},
            {t: e for t, e in labelled.items() if is_short_form(t)})


def build_lexicon(ontology_dir: Path | str | None, training_docs: list[Document] | None = None, *,
                  min_precision: float = 0.2) -> EntityLexicon:
    """Merge training and ontology terms; drop terms the training text mostly leaves unannotated."""
    terms: dict[str, LexEntry] = {}
    exact: dict[str, LexEntry] = {}
    if training_docs:
        terms, exact = training_terms(training_docs)
    if ontology_dir is not None and Path(ontology_dir).is_dir():
        onto = ontology_terms(ontology_dir)
        if terms:
            onto = _align_to_training(onto, terms)
        for k, e in onto.items():
            terms.setdefault(k, e)
    if training_docs:
        terms, exact = _drop_unannotated(terms, exact, training_docs, min_precision)
    log.info("entity lexicon: %d terms, %d exact-case short forms", len(terms), len(exact))
    return EntityLexicon(terms, exact)


def _align_to_training(onto: dict[str, LexEntry], train: dict[str, LexEntry]) -> dict[str, LexEntry]:
    """Give an ontology concept the MeSH id the training corpus uses for one of its names.

    HPO terms without a MeSH route (``HP:0002900`` hypokalemia) and Disease Ontology terms whose MeSH
    cross-reference is missing or different take the training corpus's id, and so do all their synonyms.
    """
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for key, e in onto.items():
        t = train.get(key)
        if t is not None and t.kind == "Disease" and t.concept_id.startswith("MESH:"):
            votes[e.concept_id][t.concept_id] += 1
    remap = {cid: c.most_common(1)[0][0] for cid, c in votes.items()}
    return {k: (LexEntry(remap[e.concept_id], e.label, e.kind, e.source) if e.concept_id in remap else e)
            for k, e in onto.items()}


def _drop_unannotated(terms: dict[str, LexEntry], exact: dict[str, LexEntry], docs: list[Document],
                      min_precision: float) -> tuple[dict[str, LexEntry], dict[str, LexEntry]]:
    """Remove terms that occur in the training text but are rarely part of an annotated mention there."""
    seen: Counter[str] = Counter()
    annotated: Counter[str] = Counter()
    max_len = 6
    for d in docs:
        words = [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", d.text)]
        covered = [(m.start, m.end) for m in d.mentions]
        for i in range(len(words)):
            for j in range(i + 1, min(len(words), i + max_len) + 1):
                raw = d.text[words[i][0]:words[j - 1][1]]
                for key in (raw, normalise(raw)):
                    if key in terms or key in exact:
                        seen[key] += 1  # inside a longer gold mention counts as annotated: longest match wins
                        s0, e0 = words[i][0], words[j - 1][1]
                        annotated[key] += any(a <= s0 and e0 <= b for a, b in covered)
    drop = {k for k in seen if seen[k] >= 2 and annotated[k] / seen[k] < min_precision}
    log.info("dropping %d terms the training text leaves unannotated", len(drop))
    return ({k: e for k, e in terms.items() if k not in drop}, {k: e for k, e in exact.items() if k not in drop})
