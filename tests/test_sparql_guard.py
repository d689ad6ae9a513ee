"""SERVICE and LOAD are found from the query's tokens: never missed, never invented from strings or names."""

from __future__ import annotations

import pytest

from kg.namespaces import PREFIXES
from kg.store.guard import RemoteAccessRefusedError, check_remote_access, remote_calls

EVIL = "http://127.0.0.1:18099/internal-api"


@pytest.mark.parametrize("text", [
    f"SELECT * WHERE {{ SERVICE <{EVIL}> {{ ?x ?p ?o }} }}",
    f"select * where {{ service silent <{EVIL}> {{ ?x ?p ?o }} }}",
    f"SELECT * WHERE {{ ?a ?b ?c OPTIONAL {{ SERVICE<{EVIL}>{{?x ?p ?o}} }} }}",
    "PREFIX e: <http://127.0.0.1:18099/> SELECT * WHERE { SERVICE e:x { ?x ?p ?o } }",
    "SELECT * WHERE { BIND(<http://127.0.0.1:1/> AS ?u) SERVICE ?u { ?x ?p ?o } }",
    # a name with an escaped quote must not open a string that hides the keyword
    f"SELECT * WHERE {{ ?s ?p mcrag:a\\' SERVICE <{EVIL}> {{ ?x ?p ?o }} #' \n }}",
    f"SELECT * WHERE {{ ?s ?p \"a\\\"\" . SERVICE <{EVIL}> {{ ?x ?p ?o }} }}",
    f"SELECT * WHERE {{ ?s ?p '''x''y''' . SERVICE <{EVIL}> {{ ?x ?p ?o }} }}",
    f"SELECT * WHERE {{ ?s ?p \"\"\"x\"y\"\"\" . SERVICE <{EVIL}> {{ ?x ?p ?o }} }}",
    f"SELECT * WHERE {{ FILTER(?a < ?b) SERVICE <{EVIL}> {{ ?x ?p ?o }} }}",
    f"LOAD <{EVIL}>",
    f"LOAD SILENT <{EVIL}> INTO GRAPH <http://g>",
    f"INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <{EVIL}> {{ ?s ?p ?o }} }}",
])
def test_remote_calls_are_refused(text):
    with pytest.raises(RemoteAccessRefusedError, match="refused"):
        check_remote_access(text, prefixes=PREFIXES)


@pytest.mark.parametrize("text", [
    'SELECT * WHERE { ?s ?p "SERVICE <http://x> { }" }',
    "SELECT * WHERE { ?s ?p '''LOAD <http://x>''' }",
    "SELECT * WHERE { ?s ?p ?o } # SERVICE <http://x> { }",
    "SELECT * WHERE { ?s <http://example.org/SERVICE> ?service . ?s ?p mcrag:LOAD }",
    'SELECT * WHERE { ?s ?p "x"@service }',
    "PREFIX service: <http://e/> SELECT * WHERE { ?s service:load ?o }",
])
def test_keywords_inside_strings_names_and_comments_are_not_calls(text):
    assert remote_calls(text) == []
    check_remote_access(text)


def test_allow_list_opens_exactly_the_listed_targets():
    allow = ("https://query.example.org/sparql", "https://data.example.org/")
    check_remote_access("SELECT * { SERVICE <https://query.example.org/sparql> { ?s ?p ?o } }", allow)
    check_remote_access("LOAD <https://data.example.org/a.ttl>", allow)
    check_remote_access("PREFIX d: <https://data.example.org/> LOAD d:b.ttl", allow)
    for bad in ("SELECT * { SERVICE <https://query.example.org/sparql2> { ?s ?p ?o } }",
                "LOAD <https://data.example.org.evil.test/a.ttl>",
                "SELECT * { SERVICE ?v { ?s ?p ?o } }"):
        with pytest.raises(RemoteAccessRefusedError):
            check_remote_access(bad, allow)
