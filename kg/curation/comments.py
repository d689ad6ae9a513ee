"""Comments on claims and edges, kept as W3C Web Annotations (``oa:Annotation``, motivated by ``oa:commenting``).

A comment is an annotation whose target is a claim or an edge (``id:edge/<hash>``, described once as
an ``mcrag:CausalEdge`` so the target can be resolved by SPARQL), whose body is an ``oa:TextualBody``
(``rdf:value``), with its author (``dcterms:creator``, a ``prov:Person`` and ``foaf:Person`` with
``foaf:name``) and time (``dcterms:created``). Writing it is an act like any other: a
``mcrag:CurationActivity`` that used the target and generated the annotation, so a claim's history
shows its discussion; undoing it removes the annotation and keeps its text in the undo's record.
A reply targets the same claim or edge and names the comment it answers with ``dcterms:references``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pyoxigraph as ox

from kg.curation.index import adopt_write
from kg.errors import CurationConflictError, CurationError, UnknownClaimError
from kg.namespaces import ID, NAMED_GRAPHS, XSD
from kg.revisions import (
    CurationRecord,
    FieldChange,
    curator_iri,
    iri_nt,
    literal_nt,
    new_activity_iri,
    parse_time,
    revision_statements,
)
from kg.store.base import Store

MAX_COMMENT = 8000

COMMENTS_QUERY = """SELECT ?a ?target ?text ?who ?t ?reply WHERE {{
  VALUES ?target {{ {values} }}
  ?a a oa:Annotation ; oa:hasTarget ?target ; oa:hasBody ?b ; dcterms:created ?t ; dcterms:creator ?ag .
  ?b rdf:value ?text . OPTIONAL {{ ?ag foaf:name ?who }} OPTIONAL {{ ?a dcterms:references ?reply }}
}} ORDER BY ?t ?a"""
"""The comments on some targets (claims or edges), oldest first."""


@dataclass(frozen=True)
class Comment:
    """One comment: its annotation IRI, what it is about, its text, author and time."""

    annotation: str
    target: str
    text: str
    author: str
    time: datetime
    replies_to: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"annotation": self.annotation, "comment_id": self.annotation.rsplit("/", 1)[-1], "target": self.target,
                "text": self.text, "author": self.author, "time": self.time.isoformat(), "replies_to": self.replies_to}


def _target_kind(store: Store, target: str) -> str:
    t = iri_nt(target)
    if store.ask(f"ASK {{ {t} a mcrag:CausalClaim }}"):
        return "claim"
    if target.startswith(str(ID["edge/"])):
        return "edge"
    raise UnknownClaimError(f"{target} is neither a claim nor an edge in the store")


def add_comment(store: Store, target: str, text: str, author: str, *, replies_to: str | None = None,
                edge: tuple[str, str, str] | None = None) -> tuple[Comment, CurationRecord]:
    """Write a comment on a claim or an edge (``edge`` = its cause, relation IRI and effect, to describe it)."""
    if not author or not author.strip():
        raise CurationError("a comment needs its author (--curator or $MCRAG_CURATOR)")
    body = (text or "").strip()
    if not body:
        raise CurationError("a comment needs some text")
    if len(body) > MAX_COMMENT:
        raise CurationError(f"a comment holds at most {MAX_COMMENT} characters")
    kind = _target_kind(store, target)
    if kind == "edge" and edge is None:
        raise CurationError(f"edge {target} is not described; comment on it through the edge view")
    now = datetime.now(UTC)
    ann = str(ID[f"annotation/{now.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"])
    agent = curator_iri(author)
    a, b, ag = iri_nt(ann), iri_nt(f"{ann}/body"), iri_nt(agent)
    when = literal_nt(now.isoformat(), str(XSD.dateTime))
    statements = [
        f"{a} a oa:Annotation ; oa:motivatedBy oa:commenting ; oa:hasTarget {iri_nt(target)} ; oa:hasBody {b} ;"
        f" dcterms:creator {ag} ; dcterms:created {when} .",
        f"{b} a oa:TextualBody ; rdf:value {literal_nt(body)} ; dcterms:format \"text/plain\" .",
        f"{ag} a prov:Person , foaf:Person ; foaf:name {literal_nt(author.strip())} .",
    ]
    if replies_to:
        statements.append(f"{a} dcterms:references {iri_nt(replies_to)} .")
    if edge is not None:
        s, p, o = edge
        statements.append(f"{iri_nt(target)} a mcrag:CausalEdge ; rdf:subject {iri_nt(s)} ; rdf:predicate {iri_nt(p)} ;"
                          f" rdf:object {iri_nt(o)} .")
    act = new_activity_iri("comment", now)
    prov = revision_statements(activity=act, claim=target, action="comment", agent=agent, agent_label=author,
                               reason=body[:200], when=now, previous_status=None, new_status=None,
                               from_version=None, to_version=None, changes=[FieldChange("comment", None,
                                                                                        literal_nt(body))],
                               generated=ann)
    nl = "\n  "
    before = store.generation
    store.update(f"INSERT DATA {{ GRAPH {iri_nt(NAMED_GRAPHS['curated'])} {{\n  {nl.join(statements + prov)} }} }}")
    adopt_write(store, before)
    record = CurationRecord(act, target, "comment", author.strip(), body[:200], now, None, None,
                            changes=(FieldChange("comment", None, literal_nt(body)),))
    return Comment(ann, target, body, author.strip(), now, replies_to), record


def comments_on(store: Store, targets: list[str]) -> dict[str, list[Comment]]:
    """Each target's comments, oldest first (targets without one are absent)."""
    out: dict[str, list[Comment]] = {}
    todo = list(dict.fromkeys(t for t in targets if t))
    for k in range(0, len(todo), 300):
        values = " ".join(str(ox.NamedNode(t)) for t in todo[k:k + 300])
        for r in store.select(COMMENTS_QUERY.format(values=values)):
            if r["a"] and r["target"]:
                out.setdefault(r["target"], []).append(Comment(
                    r["a"], r["target"], r["text"] or "", r["who"] or "", parse_time(r["t"]) or datetime.min.replace(
                        tzinfo=UTC), r["reply"]))
    return out


def resolve_comment(text: str) -> str:
    """A comment's annotation IRI from its IRI or the id after ``id:annotation/``."""
    text = text.strip().strip("<>")
    if text.startswith(("http://", "https://")):
        return ox.NamedNode(text).value
    if not text or any(ch in text for ch in "<>\" {}|\\^`/"):
        raise CurationError(f"{text!r} is not a comment id")
    return str(ID[f"annotation/{text}"])


def undo_comment(store: Store, annotation: str, curator: str, reason: str) -> CurationRecord:
    """Withdraw a comment: its annotation goes; an undo act records who, why and the text it had."""
    if not curator or not curator.strip():
        raise CurationError("a curation act needs the curator's identity (--curator or $MCRAG_CURATOR)")
    if not reason or not reason.strip():
        raise CurationError("a curation act needs a reason")
    ann = resolve_comment(annotation)
    rows = store.select(f"""SELECT ?target ?text ?act WHERE {{ {iri_nt(ann)} a oa:Annotation ; oa:hasTarget ?target ;
        oa:hasBody/rdf:value ?text . OPTIONAL {{ ?act prov:generated {iri_nt(ann)} }} }}""")
    if not rows:
        raise CurationConflictError(f"no comment {ann} in the store (withdrawn already?)")
    target, body, made_by = rows[0]["target"] or "", rows[0]["text"] or "", rows[0]["act"]
    now = datetime.now(UTC)
    act = new_activity_iri("comment", now)
    prov = revision_statements(activity=act, claim=target, action="undo", agent=curator_iri(curator),
                               agent_label=curator, reason=reason, when=now, previous_status=None, new_status=None,
                               from_version=None, to_version=None,
                               changes=[FieldChange("comment", literal_nt(body), None)], undoes=made_by)
    a, b = iri_nt(ann), iri_nt(f"{ann}/body")
    nl = "\n  "
    before = store.generation
    store.update(f"""DELETE {{ GRAPH ?g {{ {a} ?p ?v . {b} ?bp ?bv }} }}
INSERT {{ GRAPH {iri_nt(NAMED_GRAPHS['curated'])} {{
  {nl.join(prov)} }} }}
WHERE {{ GRAPH ?g {{ {a} a oa:Annotation . {a} ?p ?v . OPTIONAL {{ {b} ?bp ?bv }} }} }}""")
    adopt_write(store, before)
    return CurationRecord(act, target, "undo", curator.strip(), reason.strip(), now, None, None,
                          changes=(FieldChange("comment", literal_nt(body), None),), undoes=made_by)


__all__ = ["Comment", "add_comment", "comments_on", "resolve_comment", "undo_comment"]
