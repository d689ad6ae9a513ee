"""Render a :class:`~kg.store.base.QueryResult` as CSV, JSON rows or a plain text table."""

from __future__ import annotations

import csv
import io
import json

from kg.store.base import QueryResult


def to_csv(result: QueryResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if result.form == "ask":
        writer.writerow(["boolean"])
        writer.writerow([str(result.boolean).lower()])
    elif result.form == "graph":
        writer.writerow(["subject", "predicate", "object"])
        writer.writerows([[t.value for t in triple] for triple in result.triples])
    else:
        writer.writerow(result.variables)
        writer.writerows([["" if t is None else t.value for t in row] for row in result.rows])
    return out.getvalue()


def to_json_rows(result: QueryResult) -> str:
    """Plain JSON: a list of ``{variable: value}`` objects (or a boolean, or triples)."""
    if result.form == "ask":
        return json.dumps({"boolean": result.boolean})
    if result.form == "graph":
        return json.dumps([[t.value for t in triple] for triple in result.triples], indent=1)
    return json.dumps(result.dicts(), indent=1, ensure_ascii=False)


def to_sparql_json(result: QueryResult) -> str:
    """SPARQL 1.1 Query Results JSON."""
    if result.form == "ask":
        return json.dumps({"head": {}, "boolean": result.boolean})
    if result.form == "graph":
        raise ValueError("CONSTRUCT/DESCRIBE results are graphs; use --format csv or export as RDF")
    bindings = [{v: t.to_json() for v, t in zip(result.variables, row, strict=True) if t is not None}
                for row in result.rows]
    return json.dumps({"head": {"vars": result.variables}, "results": {"bindings": bindings}}, ensure_ascii=False)


def short(value: str, prefixes: dict[str, str]) -> str:
    """Compact an IRI with the known prefixes for display."""
    for p, iri in prefixes.items():
        if value.startswith(iri) and len(value) > len(iri):
            return f"{p}:{value[len(iri):]}"
    return value


def to_sparql_xml(result: QueryResult) -> str:
    """SPARQL Query Results XML Format."""
    from xml.sax.saxutils import escape, quoteattr

    ns = "http://www.w3.org/2005/sparql-results#"
    if result.form == "ask":
        return (f'<?xml version="1.0"?>\n<sparql xmlns="{ns}"><head/>'
                f"<boolean>{str(result.boolean).lower()}</boolean></sparql>\n")
    parts = [f'<?xml version="1.0"?>\n<sparql xmlns="{ns}"><head>']
    parts += [f"<variable name={quoteattr(v)}/>" for v in result.variables]
    parts.append("</head><results>")
    for row in result.rows:
        parts.append("<result>")
        for v, t in zip(result.variables, row, strict=True):
            if t is None:
                continue
            if t.kind == "uri":
                inner = f"<uri>{escape(t.value)}</uri>"
            elif t.kind == "bnode":
                inner = f"<bnode>{escape(t.value)}</bnode>"
            else:
                attrs = f" xml:lang={quoteattr(t.lang)}" if t.lang else (
                    f" datatype={quoteattr(t.datatype)}" if t.datatype else "")
                inner = f"<literal{attrs}>{escape(t.value)}</literal>"
            parts.append(f"<binding name={quoteattr(v)}>{inner}</binding>")
        parts.append("</result>")
    parts.append("</results></sparql>\n")
    return "".join(parts)


def to_tsv(result: QueryResult) -> str:
    """SPARQL 1.1 TSV results (terms in Turtle syntax)."""
    lines = ["\t".join(f"?{v}" for v in result.variables)]
    lines += ["\t".join("" if t is None else t.n3() for t in row) for row in result.rows]
    return "\n".join(lines) + "\n"


def to_ntriples(result: QueryResult) -> str:
    return "".join(f"{s.n3()} {p.n3()} {o.n3()} .\n" for s, p, o in result.triples)


RESULT_MEDIA_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}


def render(result: QueryResult, name: str) -> tuple[bytes, str]:
    """A result as the bytes of a SPARQL results format (graphs as N-Triples) with its media type."""
    if result.form == "graph":
        return to_ntriples(result).encode("utf-8"), "application/n-triples"
    if name == "xml":
        return to_sparql_xml(result).encode("utf-8"), RESULT_MEDIA_TYPES["xml"]
    if name == "csv" and result.form == "select":
        return to_csv(result).encode("utf-8"), RESULT_MEDIA_TYPES["csv"]
    if name == "tsv" and result.form == "select":
        return to_tsv(result).encode("utf-8"), RESULT_MEDIA_TYPES["tsv"]
    return to_sparql_json(result).encode("utf-8"), RESULT_MEDIA_TYPES["json"]
