"""Features of two entity mentions in one parsed sentence, for the relation-kind classifier.

The mentions are given in text order (first, second). Nothing here names an entity's type: the words
between and around the mentions, the dependency path that joins them and the cue classes on it are
what tell "X caused Y" from "Y caused by X" and from "X treated Y", so the direction a classifier
learns from them comes from the wording, and a disease -> finding pair is read like a drug -> disease
pair.
"""

from __future__ import annotations

from spacy.tokens import Span, Token

from kg.mining.classifiers.text_features import DECREASE, HEDGE, NEGATION, RISK, cue_class, lemma

_BUCKETS = (0, 1, 2, 3, 5, 8, 12, 20)


def _bucket(n: int) -> int:
    return max(b for b in _BUCKETS if b <= n)


def _ancestors(tok: Token) -> list[Token]:
    out = [tok]
    while out[-1].head.i != out[-1].i and len(out) < 60:
        out.append(out[-1].head)
    return out


def dependency_path(a: Token, b: Token) -> tuple[list[str], list[Token]]:
    """Arcs from ``a`` up to the lowest common ancestor and down to ``b``; and the tokens strictly between."""
    up = _ancestors(a)
    down = _ancestors(b)
    down_ids = {t.i: k for k, t in enumerate(down)}
    k_up = next((k for k, t in enumerate(up) if t.i in down_ids), None)
    if k_up is None:
        return ["NOPATH"], []
    k_down = down_ids[up[k_up].i]
    arcs: list[str] = []
    nodes: list[Token] = []
    for t in up[:k_up]:
        arcs.append(t.dep_ + "^")
        if t.i != a.i:
            nodes.append(t)
    lca = up[k_up]
    if lca.i not in (a.i, b.i):
        nodes.append(lca)
        arcs.append(lemma(lca))
    for t in reversed(down[:k_down]):
        arcs.append("v" + t.dep_)
        if t.i != b.i:
            nodes.append(t)
    return arcs, nodes


def path_negated(a: Span, b: Span) -> bool:
    """A negation on the path joining the mentions ("X did not cause Y", "failed to induce")."""
    _, nodes = dependency_path(a.root, b.root)
    for t in nodes:
        if lemma(t) in NEGATION or any(c.dep_ == "neg" or (c.dep_ == "advmod" and lemma(c) in NEGATION)
                                       for c in t.children):
            return True
    return False


_COORDINATION = frozenset({"conj^", "vconj", "appos^", "vappos", "cc^", "vcc"})


def coordinated(a: Span, b: Span) -> bool:
    """The mentions are only listed together ("X and Y were present"): the path joining them is a chain
    of conjunctions or appositions, so the sentence states no relation between them."""
    arcs, _ = dependency_path(a.root, b.root)
    return bool(arcs) and all(x in _COORDINATION for x in arcs)


_EXAMPLE_WORDS = frozenset({"as", "such", "including", "like", "especially", "particularly", "e.g.", "eg", "example",
                            "for", "namely", "i.e.", "ie"})
_NAMING_WORDS = frozenset({"be", "type", "form", "kind", "example", "part", "subtype", "class", "variety", "one",
                           "call", "know", "as", "of", "also", "name", "term", "refer", "to"})


def listing_structure(a: Span, b: Span) -> str | None:
    """How a sentence joins two mentions without relating them, or None when it may relate them.

    ``listed``: only coordinated ("X and Y were noted"); ``exemplified``: one is an example of the other
    or both are items of one example list ("illnesses such as X, Y"); ``named``: one names or classifies
    the other ("X is a type of Y", "X, also called Y", "X is the most common cause of Y" is kept: a cause is
    a relation). Read from the dependency path, so it holds for any kinds of mention.
    """
    arcs, nodes = dependency_path(a.root, b.root)
    if arcs == ["NOPATH"]:
        return None
    if arcs and all(x in _COORDINATION for x in arcs):
        return "listed"
    content = [t for t in nodes if t.dep_ not in ("cc", "punct", "conj", "appos")]
    linking = [t for t in content if not (t.pos_ in ("NOUN", "PROPN") and t.dep_ == "pobj")]
    if linking and all(t.lower_ in _EXAMPLE_WORDS for t in linking):
        return "exemplified"
    lemmas = [lemma(t) for t in content]
    if lemmas and any(w in ("be", "call", "know") for w in lemmas) and all(w in _NAMING_WORDS for w in lemmas):
        return "named"
    return None


def pair_hedged(a: Span, b: Span) -> bool:
    """A hedge governing the relation: on the path joining the mentions, modifying a word of it, or above
    it ("It is possible that X caused Y", "X is a suspected cause of Y", "X may induce Y")."""
    _, nodes = dependency_path(a.root, b.root)
    up = _ancestors(nodes[-1] if nodes else a.root.head)
    for t in [*nodes, *up]:
        if lemma(t) in HEDGE or any(c.dep_ in ("aux", "advmod", "amod", "acomp") and lemma(c) in HEDGE
                                    for c in t.children):
            return True
    return False


def pair_features(first: Span, second: Span, *, others_between: int = 0) -> list[str]:
    """Feature strings of a mention pair; ``first`` precedes ``second`` in the same sentence."""
    doc = first.doc
    sent = first.sent
    out: list[str] = []
    between = [t for t in doc[first.end:second.start]]
    words = [lemma(t) for t in between if not t.is_punct]
    out.append(f"DIST_{_bucket(len(between))}")
    out.append(f"OTHERS_{min(others_between, 3)}")
    out += ["BW_" + w for w in words]
    out += [f"BW2_{x}_{y}" for x, y in zip(words, words[1:], strict=False)]
    if len(between) <= 4:
        out.append("BSEQ_" + "_".join(t.lower_ for t in between))
    if words:
        out.append("BF_" + words[0])
        out.append("BL_" + words[-1])
    before = [lemma(t) for t in doc[max(sent.start, first.start - 3):first.start]]
    after = [lemma(t) for t in doc[second.end:min(sent.end, second.end + 3)]]
    out += [f"PRE{i}_{w}" for i, w in enumerate(reversed(before))]
    out += [f"POST{i}_{w}" for i, w in enumerate(after)]
    arcs, nodes = dependency_path(first.root, second.root)
    out.append("PATH_" + "_".join(arcs))
    out.append("PATHDEP_" + "_".join(a for a in arcs if a.endswith("^") or a.startswith("v")))
    for t in nodes:
        tl = lemma(t)
        out.append("PW_" + tl)
        cls = cue_class(tl)
        if cls:
            out.append("PC_" + cls)
    path_words = {lemma(t) for t in nodes}
    if path_words & DECREASE:
        out.append("PATH_DECREASE")
        if path_words & RISK:
            out.append("PATH_DECREASE_RISK")
    elif path_words & RISK:
        out.append("PATH_RISK")
    out.append(f"AHEAD_{first.root.dep_}_{lemma(first.root.head)}")
    out.append(f"BHEAD_{second.root.dep_}_{lemma(second.root.head)}")
    cues = [c for c in (cue_class(w) for w in words) if c]
    out += ["BC_" + c for c in cues]
    if cues:
        out.append("BCSEQ_" + "_".join(cues[:4]))
    sent_cues = {cue_class(lemma(t)) for t in sent} - {None}
    out += ["SC_" + str(c) for c in sorted(sent_cues)]  # type: ignore[type-var]
    out.append(f"PATHNEG_{path_negated(first, second)}")
    out.append(f"COORDINATED_{coordinated(first, second)}")
    out.append(f"PATHHEDGE_{pair_hedged(first, second)}")
    return out
