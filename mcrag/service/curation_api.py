"""Curation over HTTP: the review queue, search and facets, the edge view, acts on one claim or many,
mappings, comments, versions and releases.

Reads follow the read policy; every act needs the bearer token, names the curator and a reason,
and the claim versions it was based on (a stale version is 409 and changes nothing). A refused edit
(a SHACL violation, a value that names nothing) is 422 with the reason in ``detail``. Search, the
queue and the edge view answer from the curation index (``kg.curation.index``), built on the first
read and kept in step with every write this service makes.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from kg import curation
from kg.claims import RELATION_KINDS
from kg.curation.acts import MAX_BULK
from kg.curation.index import CurationIndex
from kg.statuses import Status
from kg.store import RemoteSparqlStore, Store
from mcrag.service.auth import require_read, require_write
from mcrag.service.claim_ids import CLAIM_ID_PATTERN, claim_iri

router = APIRouter(prefix="/api", tags=["curation"])
ClaimId = Annotated[str, PathParam(pattern=CLAIM_ID_PATTERN, description="the claim's hash id")]


class Act(BaseModel):
    """One curation act; ``expected_version`` is the claim version the curator looked at."""

    curator: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=4000)
    expected_version: int = Field(ge=1)


class EditAct(Act):
    relation: Literal["causes", "predisposesTo", "manifestsAs", "mediates", "prevents"] | None = None
    certainty: Literal["certain", "probable", "possible"] | None = None
    polarity: Literal["positive", "negative"] | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    mechanism: str | None = Field(default=None, max_length=4000)
    subject: str | None = Field(default=None, max_length=500, description="new cause: concept IRI, label or synonym")
    object: str | None = Field(default=None, max_length=500, description="new effect: concept IRI, label or synonym")
    swap: bool = Field(default=False, description="swap cause and effect")
    scope: Literal["cardiopulmonary", "chest", "general"] | None = None


class Member(BaseModel):
    claim_id: str = Field(pattern=CLAIM_ID_PATTERN)
    expected_version: int = Field(ge=1)


class BulkAct(BaseModel):
    """One act over many claims, each with the version the curator read."""

    action: Literal["accept", "reject", "relabel", "rescope"]
    claims: list[Member] = Field(min_length=1, max_length=MAX_BULK)
    curator: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=4000)
    relation: Literal["causes", "predisposesTo", "manifestsAs", "mediates", "prevents"] | None = None
    scope: Literal["cardiopulmonary", "chest", "general", "none"] | None = None


class Signed(BaseModel):
    curator: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=4000)


class NewComment(BaseModel):
    curator: str = Field(min_length=1, max_length=200, description="the author")
    text: str = Field(min_length=1, max_length=8000)
    reply_to: str | None = Field(default=None, max_length=200, description="the comment id this answers")


class MappingAct(Signed):
    concept: str = Field(min_length=1, max_length=500, description="concept IRI, label or synonym")
    kind: Literal["exact", "close", "broad"]
    target: str = Field(min_length=3, max_length=300, description="HP:..., DOID:..., MESH:... or the term's IRI")
    remove: bool = False


class MappingUndo(Signed):
    concept: str = Field(min_length=1, max_length=500)


class NewRelease(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    curator: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=4000)


class UndoAct(BaseModel):
    curator: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=4000)
    expected_version: int | None = Field(default=None, ge=1)


def _store(request: Request) -> Store:
    require_read(request, request.app.state.settings)
    return request.app.state.store


REMOTE_INDEX_MAX_AGE_S = 30.0
"""A remote store may be written by other clients: its index is rebuilt when older than this."""


def warm_index(store: Store) -> None:
    """Start building the curation index in the background, so the first search does not wait for it all.

    Only for a store on disk or behind an endpoint: an in-memory store is small and tests write to it
    from the first moment."""
    if not store.capabilities.persistent:
        return
    import logging
    import threading

    def build() -> None:
        try:
            _index(store)
        except Exception as err:  # noqa: BLE001 - the store closed under it (shutdown): the next read builds it
            logging.getLogger(__name__).debug("curation index not built in the background: %s", err)

    threading.Thread(target=build, name="curation-index", daemon=True).start()


def _index(store: Store) -> CurationIndex:
    return curation.index_for(store, max_age_s=REMOTE_INDEX_MAX_AGE_S if isinstance(store, RemoteSparqlStore)
                              else None)


def _id(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


def _record(rec: curation.CurationRecord) -> dict[str, Any]:
    from kg.curation.versions import change_json

    out = asdict(rec)
    out["time"] = rec.time.isoformat()
    out["changes"] = [change_json(c) for c in rec.changes]
    out["version"] = rec.to_version
    out["curator"] = rec.agent
    return out


async def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except curation.UnknownClaimError as err:
        raise HTTPException(404, str(err)) from None
    except (curation.StaleVersionError, curation.CurationConflictError) as err:
        raise HTTPException(409, str(err)) from None
    except (curation.CurationError, ValueError) as err:
        raise HTTPException(422, str(err)) from None


def _filter(text: str | None, concept: str | None, role: str, relation: list[str], status: list[str],
            scope: list[str], source: list[str], min_confidence: float | None, max_confidence: float | None,
            verdict: list[str], changed_since: str | None, polarity: str | None) -> curation.ClaimFilter:
    try:
        return curation.filter_from(text=text, concept=concept, role=role, relation=relation, status=status,
                                    scope=scope, source=source, min_confidence=min_confidence,
                                    max_confidence=max_confidence, verdict=verdict, changed_since=changed_since,
                                    polarity=polarity)
    except curation.CurationError as err:
        raise HTTPException(422, str(err)) from None


@router.get("/curation/queue", summary="Claims awaiting review, most important first")
async def queue(request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                status: Annotated[Status | None, Query()] = None) -> list[dict[str, Any]]:
    store = _store(request)
    statuses = (status,) if status else curation.REVIEWABLE_STATUSES
    items = await _call(lambda: curation.review_queue(store, limit, statuses=statuses, index=_index(store)))
    return [{**i.to_json(), "claim_id": _id(i.claim), "reason": i.why} for i in items]


@router.get("/claims/{claim_id}", summary="A claim with its sentences, sources, validation and history")
async def claim(request: Request, claim_id: ClaimId) -> dict[str, Any]:
    store = _store(request)
    detail: curation.ClaimDetail = await _call(curation.claim_detail, store, claim_iri(claim_id))
    out = detail.to_json()
    out.pop("mediator", None)
    return {"claim_id": claim_id, **out, "history": [_record(r) for r in detail.history]}


@router.get("/claims/{claim_id}/history", summary="The claim's curation trail (PROV activities)")
async def claim_history(request: Request, claim_id: ClaimId) -> list[dict[str, Any]]:
    trail = await _call(curation.history, _store(request), claim_iri(claim_id))
    return [_record(r) for r in trail]


async def _decide(request: Request, fn: Any, claim_id: str, act: Act) -> dict[str, Any]:
    require_write(request, request.app.state.settings)
    rec = await _call(fn, request.app.state.store, claim_iri(claim_id), act.curator, act.reason, act.expected_version)
    return _record(rec)


@router.post("/curation/claims/{claim_id}/accept", summary="Accept a claim")
async def accept(request: Request, claim_id: ClaimId, act: Act) -> dict[str, Any]:
    return await _decide(request, curation.accept, claim_id, act)


@router.post("/curation/claims/{claim_id}/reject", summary="Reject a claim")
async def reject(request: Request, claim_id: ClaimId, act: Act) -> dict[str, Any]:
    return await _decide(request, curation.reject, claim_id, act)


@router.post("/curation/claims/{claim_id}/edit", summary="Edit a claim's relation, certainty, polarity, ...")
async def edit(request: Request, claim_id: ClaimId, act: EditAct) -> dict[str, Any]:
    require_write(request, request.app.state.settings)
    changes = act.model_dump(include={"relation", "certainty", "polarity", "confidence", "mechanism", "scope"},
                             exclude_none=True)
    if not changes and act.subject is None and act.object is None and not act.swap:
        raise HTTPException(422, "an edit must change at least one of subject, object, swap, relation, certainty, "
                                 "polarity, confidence, mechanism, scope")
    assert not changes.get("relation") or changes["relation"] in RELATION_KINDS
    store = request.app.state.store

    def run() -> curation.CurationRecord:
        from kg.curation.mappings import resolve_concept_iri

        subject = resolve_concept_iri(store, act.subject) if act.subject is not None else None
        obj = resolve_concept_iri(store, act.object) if act.object is not None else None
        return curation.edit(store, claim_iri(claim_id), act.curator, act.reason, act.expected_version,
                             subject=subject, object=obj, swap=act.swap, **changes)

    return _record(await _call(run))


@router.post("/curation/claims/{claim_id}/undo", summary="Undo the claim's last curation act")
async def undo(request: Request, claim_id: ClaimId, act: UndoAct) -> dict[str, Any]:
    require_write(request, request.app.state.settings)
    rec = await _call(curation.undo, request.app.state.store, claim_iri(claim_id), act.curator, act.reason,
                      act.expected_version)
    return _record(rec)


# ------------------------------------------------------------------------------------------ search and edges
TextQ = Annotated[str | None, Query(max_length=500, description="words in the label, sentence or document id")]
ConceptQ = Annotated[str | None, Query(max_length=500, description="label, synonym, mapped id or IRI")]
RoleQ = Annotated[Literal["any", "cause", "effect"], Query()]
ListQ = Annotated[list[str], Query()]
ConfQ = Annotated[float | None, Query(ge=0.0, le=1.0)]
SinceQ = Annotated[str | None, Query(max_length=40, description="ISO date or date-time")]
PolarityQ = Annotated[Literal["positive", "negative"] | None, Query()]
LimitQ = Annotated[int, Query(ge=1, le=500)]
CursorQ = Annotated[str | None, Query(max_length=400)]


@router.get("/curation/search", summary="Claims matching every filter, with facet counts and a cursor")
async def search(request: Request, text: TextQ = None, concept: ConceptQ = None, role: RoleQ = "any",
                 relation: ListQ = [], status: ListQ = [], scope: ListQ = [], source: ListQ = [],  # noqa: B006
                 min_confidence: ConfQ = None, max_confidence: ConfQ = None, verdict: ListQ = [],  # noqa: B006
                 changed_since: SinceQ = None, polarity: PolarityQ = None,
                 sort: Annotated[Literal["priority", "confidence", "changed", "label"], Query()] = "priority",
                 limit: LimitQ = 50, cursor: CursorQ = None) -> dict[str, Any]:
    store = _store(request)
    f = _filter(text, concept, role, relation, status, scope, source, min_confidence, max_confidence, verdict,
                changed_since, polarity)
    page = await _call(lambda: curation.search_claims(_index(store), f, sort=sort, limit=limit, cursor=cursor))
    return page.to_json()


@router.get("/curation/edges", summary="Edges with a claim matching every filter: one row per edge")
async def edges(request: Request, text: TextQ = None, concept: ConceptQ = None, role: RoleQ = "any",
                relation: ListQ = [], status: ListQ = [], scope: ListQ = [], source: ListQ = [],  # noqa: B006
                min_confidence: ConfQ = None, max_confidence: ConfQ = None, verdict: ListQ = [],  # noqa: B006
                changed_since: SinceQ = None, polarity: PolarityQ = None,
                sort: Annotated[Literal["priority", "claims", "label"], Query()] = "priority",
                limit: LimitQ = 50, cursor: CursorQ = None) -> dict[str, Any]:
    store = _store(request)
    f = _filter(text, concept, role, relation, status, scope, source, min_confidence, max_confidence, verdict,
                changed_since, polarity)
    page = await _call(lambda: curation.search_edges(_index(store), f, sort=sort, limit=limit, cursor=cursor))
    return page.to_json()


EdgeId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{8,64}$", description="the edge's hash id")]


@router.get("/curation/edges/{edge_id}", summary="An edge: its claims, its validation per source, its comments")
async def edge(request: Request, edge_id: EdgeId, limit: LimitQ = 100,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> dict[str, Any]:
    store = _store(request)
    detail = await _call(lambda: curation.edge_detail(store, edge_id, limit=limit, offset=offset, index=_index(store)))
    return detail.to_json()


# ------------------------------------------------------------------------------------------ bulk acts
@router.post("/curation/bulk", summary="One act with one reason over many claims (one transaction)")
async def bulk(request: Request, act: BulkAct) -> dict[str, Any]:
    require_write(request, request.app.state.settings)
    members = {claim_iri(m.claim_id): m.expected_version for m in act.claims}
    if len(members) != len(act.claims):
        raise HTTPException(422, "a claim is listed twice")
    rec = await _call(curation.bulk, request.app.state.store, members, act.action, act.curator, act.reason,
                      relation=act.relation, scope=act.scope)
    return rec.to_json()


BulkId = Annotated[str, PathParam(pattern=r"^[0-9A-Za-z_-]{8,80}$", description="the id after activity/bulk/")]


@router.post("/curation/bulk/{bulk_id}/undo", summary="Undo a bulk act as a whole")
async def undo_bulk(request: Request, bulk_id: BulkId, act: Signed) -> dict[str, Any]:
    require_write(request, request.app.state.settings)
    from kg.namespaces import ID

    rec = await _call(curation.undo_bulk, request.app.state.store, str(ID[f"activity/bulk/{bulk_id}"]), act.curator,
                      act.reason)
    return rec.to_json()


# ------------------------------------------------------------------------------------------ versions
@router.get("/claims/{claim_id}/versions", summary="The claim at every version")
async def versions(request: Request, claim_id: ClaimId) -> list[dict[str, Any]]:
    found = await _call(curation.claim_versions, _store(request), claim_iri(claim_id))
    return [v.to_json() for v in found]


@router.get("/claims/{claim_id}/compare", summary="Fields that differ between two versions of a claim")
async def compare(request: Request, claim_id: ClaimId, a: Annotated[int, Query(ge=1)],
                  b: Annotated[int, Query(ge=1)]) -> dict[str, Any]:
    from kg.curation.versions import change_json

    changes = await _call(curation.compare_versions, _store(request), claim_iri(claim_id), a, b)
    return {"claim_id": claim_id, "a": a, "b": b, "changes": [change_json(c) for c in changes]}


# ------------------------------------------------------------------------------------------ comments
def _edge_target(store: Store, edge_id: str) -> tuple[str, tuple[str, str, str]]:
    from kg.namespaces import MCRAG

    row = curation.edge_detail(store, edge_id, limit=1, index=_index(store)).row
    return row.edge, (row.subject, str(MCRAG[row.relation]), row.object)


def _comment_json(result: tuple[curation.Comment, curation.CurationRecord]) -> dict[str, Any]:
    comment, rec = result
    return {**comment.to_json(), "activity": rec.activity}


@router.post("/curation/claims/{claim_id}/comments", summary="Comment on a claim (a Web Annotation)")
async def comment_claim(request: Request, claim_id: ClaimId, body: NewComment) -> dict[str, Any]:
    require_write(request, request.app.state.settings)
    from kg.curation.comments import resolve_comment

    store = request.app.state.store
    return _comment_json(await _call(lambda: curation.add_comment(
        store, claim_iri(claim_id), body.text, body.curator,
        replies_to=resolve_comment(body.reply_to) if body.reply_to else None)))


@router.post("/curation/edges/{edge_id}/comments", summary="Comment on an edge (a Web Annotation)")
async def comment_edge(request: Request, edge_id: EdgeId, body: NewComment) -> dict[str, Any]:
    require_write(request, request.app.state.settings)
    from kg.curation.comments import resolve_comment

    store = request.app.state.store

    def run() -> tuple[curation.Comment, curation.CurationRecord]:
        target, spo = _edge_target(store, edge_id)
        return curation.add_comment(store, target, body.text, body.curator, edge=spo,
                                    replies_to=resolve_comment(body.reply_to) if body.reply_to else None)

    return _comment_json(await _call(run))


@router.get("/curation/claims/{claim_id}/comments", summary="The comments on a claim, oldest first")
async def claim_comments(request: Request, claim_id: ClaimId) -> list[dict[str, Any]]:
    iri = claim_iri(claim_id)
    found = await _call(curation.comments_on, _store(request), [iri])
    return [c.to_json() for c in found.get(iri, [])]


CommentId = Annotated[str, PathParam(pattern=r"^[0-9A-Za-z_-]{8,80}$", description="the id after annotation/")]


@router.post("/curation/comments/{comment_id}/undo", summary="Withdraw a comment")
async def undo_comment(request: Request, comment_id: CommentId, act: Signed) -> dict[str, Any]:
    require_write(request, request.app.state.settings)
    rec = await _call(curation.undo_comment, request.app.state.store, comment_id, act.curator, act.reason)
    return _record(rec)


# ------------------------------------------------------------------------------------------ mappings
@router.get("/curation/mappings", summary="A concept's exact, close and broad matches")
async def mappings(request: Request, concept: Annotated[str, Query(min_length=1, max_length=500)]) -> dict[str, Any]:
    store = _store(request)

    def run() -> dict[str, Any]:
        from kg.curation.mappings import resolve_concept_iri

        iri = resolve_concept_iri(store, concept)
        return {"concept": iri, **curation.concept_mappings(store, iri)}

    return await _call(run)


@router.post("/curation/mappings", summary="Add or withdraw a SKOS mapping of a concept to HPO, DOID or MeSH")
async def map_concept(request: Request, act: MappingAct) -> dict[str, Any]:
    require_write(request, request.app.state.settings)
    rec = await _call(curation.map_concept, request.app.state.store, act.concept, act.kind, act.target, act.curator,
                      act.reason, remove=act.remove)
    return _record(rec)


@router.post("/curation/mappings/undo", summary="Undo a concept's latest mapping act")
async def undo_mapping(request: Request, act: MappingUndo) -> dict[str, Any]:
    require_write(request, request.app.state.settings)
    rec = await _call(curation.undo_mapping, request.app.state.store, act.concept, act.curator, act.reason)
    return _record(rec)


# ------------------------------------------------------------------------------------------ releases
ReleaseName = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


@router.get("/curation/releases", summary="Every release, oldest first")
async def releases(request: Request) -> list[dict[str, Any]]:
    found = await _call(curation.list_releases, _store(request))
    return [r.to_json() for r in found]


@router.post("/curation/releases", summary="Freeze the accepted and validated graph as a named release")
async def cut_release(request: Request, body: NewRelease) -> dict[str, Any]:
    require_write(request, request.app.state.settings)
    store = request.app.state.store
    info = await _call(lambda: curation.cut_release(store, body.name, body.curator, body.note, index=_index(store)))
    return info.to_json()


@router.get("/curation/releases/{a}/diff/{b}", summary="Edges added, removed and changed from release a to b")
async def diff(request: Request, a: ReleaseName, b: ReleaseName) -> dict[str, Any]:
    d = await _call(curation.diff_releases, _store(request), a, b)
    return d.to_json()


_MEDIA = {"turtle": "text/turtle", "jsonld": "application/ld+json", "graphml": "application/graphml+xml"}


@router.get("/curation/releases/{name}/export", summary="A release as Turtle, JSON-LD or GraphML",
            response_class=Response)
async def export(request: Request, name: ReleaseName,
                 format: Annotated[Literal["turtle", "jsonld", "graphml"], Query()] = "turtle") -> Response:  # noqa: A002
    import io

    store = _store(request)
    buf = io.BytesIO()
    await _call(curation.export_release, store, name, buf, format)
    ext = {"turtle": "ttl", "jsonld": "jsonld", "graphml": "graphml"}[format]
    return Response(buf.getvalue(), media_type=_MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="mcrag-{name}.{ext}"'})


@router.post("/curation/releases/{name}/withdraw", summary="Undo a release (drop its graph; recorded)")
async def withdraw(request: Request, name: ReleaseName, act: Signed) -> dict[str, Any]:
    require_write(request, request.app.state.settings)
    rec = await _call(curation.withdraw_release, request.app.state.store, name, act.curator, act.reason)
    return _record(rec)


@router.get("/curation/history", summary="The acts on a concept, an edge or a release (by IRI)")
async def target_history(request: Request, target: Annotated[str, Query(min_length=8, max_length=500)]) -> list[dict[str, Any]]:
    if not target.startswith(("http://", "https://")) or any(ch in target for ch in "<>\" {}|\\^`"):
        raise HTTPException(422, f"not an IRI: {target!r}")
    trail = await _call(curation.history, _store(request), target)
    return [_record(r) for r in trail]
