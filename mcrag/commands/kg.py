"""``mcrag kg``: load, query, update, export, stats and check the knowledge graph."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from kg.check import check_store
from kg.claim_reader import CLAIM_COUNTS_QUERY
from kg.formats import guess_rdf_format, rdf_format_name
from kg.load_claims import count_bare_edges, load_with_claims
from kg.namespaces import NAMED_GRAPHS, PREFIXES, graph_iri
from kg.ontology import bootstrap
from kg.results_format import short, to_csv, to_json_rows, to_sparql_json
from mcrag import __version__
from mcrag.commands.common import PlainTable as Table
from mcrag.commands.common import StoreOption, open_configured_store, settings_for
from mcrag.errors import UserInputError

app = typer.Typer(help="Load, query, update, export, count and check the RDF knowledge graph.",
                  no_args_is_help=True)
console = Console(soft_wrap=True)


def _read_text_arg(text: str | None, file: Path | None, what: str) -> str:
    if file is not None:
        if not file.is_file():
            raise UserInputError(f"{what} file {file} not found")
        return file.read_text(encoding="utf-8")
    if text == "-":
        return sys.stdin.read()
    if not text:
        raise UserInputError(f"give a {what} as an argument, '-' for standard input, or --file")
    return text


@app.command()
def init(store: str | None = StoreOption) -> None:
    """Create a store with the MCRAG ontology and the curated starter graph."""
    settings = settings_for(store)
    with open_configured_store(settings) as st:
        for rep in bootstrap(st):
            console.print(f"loaded {rep.source} into <{rep.graph}>: +{rep.added} quads")


@app.command()
def load(files: list[Path] = typer.Argument(..., help="RDF files (Turtle, N-Triples, N-Quads, TriG, RDF/XML, JSON-LD)."),
         graph: str | None = typer.Option(None, "--graph", "-g", help=f"Named graph: an IRI or one of {', '.join(NAMED_GRAPHS)}."),
         fmt: str | None = typer.Option(None, "--format", "-f", help="RDF format, if the extension does not tell."),
         bulk: bool = typer.Option(False, "--bulk", help="Fast bulk loader for big files into empty graphs "
                                   "(an interrupted bulk load is undone on the next open)."),
         store: str | None = StoreOption) -> None:
    """Load RDF files; each file is one transaction, so a malformed file changes nothing."""
    settings = settings_for(store)
    for f in files:
        if not f.is_file():
            raise UserInputError(f"{f}: file not found")
        rdf_format_name(fmt) if fmt else guess_rdf_format(f)
    if bulk:
        for f in files:
            bare = count_bare_edges(f, rdf_format_name(fmt) if fmt else guess_rdf_format(f))
            if bare:
                raise UserInputError(f"{f}: {bare} causal edge(s) without a claim; load it without --bulk so they "
                                     "become proposed claims that curators can review")
    with open_configured_store(settings) as st:
        for f in files:
            name = rdf_format_name(fmt) if fmt else guess_rdf_format(f)
            target = graph_iri(graph) if graph else None
            where = f" into <{target}>" if target else ""
            if bulk:
                rep = st.load(f, name, graph=target, bulk=True)
                console.print(f"{f}: +{rep.added} quads{where} (store now {rep.quads_after})", markup=False)
                continue
            added, proposed, _ = load_with_claims(st, f, name, target, __version__)
            console.print(f"{f}: +{added} quads{where} (store now {st.count()})", markup=False)
            if proposed:
                console.print(f"  {proposed} causal edge(s) had no claim: each is now a proposed claim citing "
                              f"{f.name}, waiting in `mcrag curate queue`", markup=False)


@app.command()
def query(sparql: str | None = typer.Argument(None, help="SPARQL query text, or '-' for standard input."),
          file: Path | None = typer.Option(None, "--file", help="Read the query from a file."),
          out: str = typer.Option("table", "--format", "-f", help="table, csv, json, sparql-json or sparql-xml."),
          timeout: float | None = typer.Option(None, help="Seconds before the query is stopped."),
          store: str | None = StoreOption) -> None:
    """Run a SPARQL 1.1 query (MCRAG prefixes are predeclared; the default graph is the union of all graphs)."""
    text = _read_text_arg(sparql, file, "query")
    if out not in ("table", "csv", "json", "sparql-json", "sparql-xml", "tsv"):
        raise UserInputError(f"unknown output format {out!r}; use table, csv, json, sparql-json or sparql-xml")
    settings = settings_for(store)
    with open_configured_store(settings, create=False, read_only_fallback=True) as st:
        t = timeout or settings.query_timeout
        if out == "sparql-xml":
            body, _ = st.query_serialized(text, "xml", timeout=t)
            sys.stdout.write(body.decode("utf-8"))
            return
        if out == "tsv":
            body, _ = st.query_serialized(text, "tsv", timeout=t)
            sys.stdout.write(body.decode("utf-8"))
            return
        result = st.query(text, timeout=t, max_rows=settings.max_rows)
    if out == "csv":
        sys.stdout.write(to_csv(result))
    elif out == "json":
        sys.stdout.write(to_json_rows(result) + "\n")
    elif out == "sparql-json":
        sys.stdout.write(to_sparql_json(result) + "\n")
    elif result.form == "ask":
        console.print(str(result.boolean).lower())
    else:
        headers = result.variables if result.form == "select" else ["subject", "predicate", "object"]
        rows = result.rows if result.form == "select" else result.triples
        table = Table(*headers, show_lines=False)
        for row in rows:
            table.add_row(*["" if t is None else short(t.value, PREFIXES) for t in row])
        console.print(table)
        console.print(f"{len(rows)} row(s)")


@app.command()
def update(sparql: str | None = typer.Argument(None, help="SPARQL update text, or '-' for standard input."),
           file: Path | None = typer.Option(None, "--file", help="Read the update from a file."),
           store: str | None = StoreOption) -> None:
    """Run a SPARQL 1.1 update as one transaction."""
    text = _read_text_arg(sparql, file, "update")
    settings = settings_for(store)
    with open_configured_store(settings) as st:
        before = st.count()
        st.update(text)
        after = st.count()
    console.print(f"update applied: {after - before:+d} quads (store now {after})")


@app.command()
def export(output: Path = typer.Argument(..., help="Output file; '-' writes to standard output."),
           fmt: str | None = typer.Option(None, "--format", "-f", help="RDF format (default from the extension)."),
           graph: str | None = typer.Option(None, "--graph", "-g", help="Only this named graph."),
           store: str | None = StoreOption) -> None:
    """Export the store (all graphs, or one) as Turtle, N-Triples, N-Quads, TriG, RDF/XML or JSON-LD."""
    name = rdf_format_name(fmt) if fmt else (guess_rdf_format(output) if str(output) != "-" else "nquads")
    settings = settings_for(store)
    with open_configured_store(settings, create=False, read_only_fallback=True) as st:
        if str(output) == "-":
            st.export(sys.stdout.buffer, name, graph=graph_iri(graph) if graph else None)
            return
        tmp = output.with_name(output.name + ".part")
        with tmp.open("wb") as fh:
            st.export(fh, name, graph=graph_iri(graph) if graph else None)
        tmp.replace(output)  # never leave a half-written export under the real name
    console.print(f"wrote {output}")


@app.command()
def stats(store: str | None = StoreOption) -> None:
    """Quads per named graph, claims per status and relation kind."""
    settings = settings_for(store)
    with open_configured_store(settings, create=False, read_only_fallback=True) as st:
        table = Table("graph", "quads")
        for g, n in st.iter_graph_sizes():
            table.add_row(short(g, PREFIXES), str(n))
        table.add_row(Text("total", style="bold"), str(st.count()))
        console.print(table)
        res = st.query(CLAIM_COUNTS_QUERY)
        claims = Table("status", "relation", "claims")
        for row in res.dicts():
            claims.add_row(short(row["status"] or "", PREFIXES), short(row["rel"] or "", PREFIXES), row["n"] or "0")
        console.print(claims)


@app.command()
def check(store: str | None = StoreOption,
          graph: list[str] = typer.Option([], "--graph", "-g", help="Check only these graphs (repeatable)."),
          owl: bool = typer.Option(True, help="Run the HermiT OWL 2 consistency check."),
          shacl: bool = typer.Option(True, help="Run the SHACL shape validation."),
          skos: bool = typer.Option(True, help="Run the SKOS integrity rules (one prefLabel per language, no shared "
                                    "prefLabel, no concept that is only a qualifier).")) -> None:
    """Check OWL consistency (HermiT), SHACL shapes and SKOS integrity; print each violation with its offending node."""
    settings = settings_for(store)
    with open_configured_store(settings, create=False, read_only_fallback=True) as st:
        report = check_store(st, graphs=[graph_iri(g) for g in graph] or None, owl=owl, shacl=shacl, skos=skos)
    if owl:
        console.print(f"OWL (HermiT): {'consistent' if report.consistent else '[red]INCONSISTENT[/red]'}")
    if shacl:
        console.print(f"SHACL: {'conforms' if report.conforms else '[red]violations[/red]'}")
    if skos:
        console.print(f"SKOS: {'sound' if report.skos_ok else '[red]violations[/red]'}")
    for v in report.violations:
        console.print(f"  {v}", markup=False, highlight=False)
    console.print(f"{report.triples_checked} triples checked, {len(report.violations)} violation(s)")
    if not report.ok:
        raise typer.Exit(1)
