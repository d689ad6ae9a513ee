"""Property-based fuzzing of the whole OpenAPI surface: no input may produce a server error."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis

from kg.ontology import bootstrap
from kg.store import open_store
from mcrag.service.app import create_app
from mcrag.settings import load_settings


@schemathesis.serializer("application/sparql-query", "application/sparql-update")
def _sparql_text(ctx: object, value: object) -> bytes:
    """SPARQL bodies are plain text; send whatever the generator made as UTF-8."""
    return value.encode("utf-8", "replace") if isinstance(value, str) else str(value).encode()


_store = open_store(":memory:")
bootstrap(_store)
app = create_app(load_settings(token="fuzz-token", query_timeout=5.0, max_rows=2000), store=_store)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
pytestmark = pytest.mark.slow


@schema.parametrize()
@hypothesis.settings(max_examples=10, deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    headers = {"Authorization": "Bearer fuzz-token"} if case.method.upper() == "POST" else None
    response = case.call(headers=headers)
    assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"


def test_fuzz_target_is_the_real_app() -> None:
    paths = set(schema.raw_schema["paths"])
    assert "/sparql" in paths and "/api/evidence" in paths
    assert any(p.startswith("/api/curation") for p in paths)
