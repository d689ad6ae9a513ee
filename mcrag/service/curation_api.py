"""Curation over HTTP: the review queue, a claim's detail, and accept / reject / edit / undo acts.

Reads follow the read policy; every act needs the bearer token, names the curator and a reason,
and the claim version it was based on (a stale version is 409 and changes nothing).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from kg import curation
from kg.claims import RELATION_KINDS
from kg.statuses import Status
from kg.store import Store
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


class UndoAct(BaseModel):
    curator: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=4000)
    expected_version: int | None = Field(default=None, ge=1)


def _store(request: Request) -> Store:
    require_read(request, request.app.state.settings)
    return request.app.state.store


def _id(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


def _record(rec: curation.CurationRecord) -> dict[str, Any]:
    out = asdict(rec)
    out["time"] = rec.time.isoformat()
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


@router.get("/curation/queue", summary="Claims awaiting review, most important first")
async def queue(request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                status: Annotated[Status | None, Query()] = None) -> list[dict[str, Any]]:
    store = _store(request)
    statuses = (status,) if status else curation.REVIEWABLE_STATUSES
    items = await _call(curation.review_queue, store, limit, statuses=statuses)
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
    changes = act.model_dump(include={"relation", "certainty", "polarity", "confidence", "mechanism"},
                             exclude_none=True)
    if not changes:
        raise HTTPException(422, "an edit must change at least one of relation, certainty, polarity, "
                                 "confidence, mechanism")
    assert not changes.get("relation") or changes["relation"] in RELATION_KINDS
    rec = await _call(curation.edit, request.app.state.store, claim_iri(claim_id), act.curator, act.reason,
                      act.expected_version, **changes)
    return _record(rec)


@router.post("/curation/claims/{claim_id}/undo", summary="Undo the claim's last curation act")
async def undo(request: Request, claim_id: ClaimId, act: UndoAct) -> dict[str, Any]:
    require_write(request, request.app.state.settings)
    rec = await _call(curation.undo, request.app.state.store, claim_iri(claim_id), act.curator, act.reason,
                      act.expected_version)
    return _record(rec)
