"""Bearer-token checks: writes always need the token; reads only when ``open_reads`` is off."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request

from mcrag.settings import Settings


def _presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def require_write(request: Request, settings: Settings) -> None:
    token = _presented(request)
    if not settings.token:
        raise HTTPException(401, "writes are disabled: start the service with MCRAG_TOKEN set and send "
                                 "'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"})
    if token is None or not hmac.compare_digest(token, settings.token):
        raise HTTPException(401, "a valid bearer token is required for writes", headers={"WWW-Authenticate": "Bearer"})


def require_read(request: Request, settings: Settings) -> None:
    if settings.open_reads:
        return
    token = _presented(request)
    if not settings.token or token is None or not hmac.compare_digest(token, settings.token):
        raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
