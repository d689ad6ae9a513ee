"""Graph checks: OWL 2 consistency with HermiT (owlready2) and SHACL shapes with pySHACL.

Both report findings as :class:`Violation` records that name the offending node, so a knowledge
engineer can go straight to the claim or concept at fault.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import rdflib

from kg.concepts import QUALIFIER_TERMS
from kg.namespaces import MCRAG, NAMED_GRAPHS, RDF, SH, SKOS, sparql_prologue
from kg.ontology import SHAPES_FILE, ontology_path
from kg.store.base import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Violation:
    """One problem found in the graph."""

    check: str
    """``owl``, ``shacl`` or ``skos``."""
    focus_node: str
    message: str
    path: str | None = None
    value: str | None = None
    shape: str | None = None

    def __str__(self) -> str:
        extra = "".join(f" {k}={v}" for k, v in (("path", self.path), ("value", self.value)) if v)
        return f"[{self.check}] {self.focus_node}: {self.message}{extra}"


@dataclass(frozen=True)
class CheckReport:
    """Outcome of ``mcrag kg check``."""

    consistent: bool | None
    conforms: bool | None
    violations: tuple[Violation, ...]
    triples_checked: int
    skos_ok: bool | None = None
    """The SKOS integrity rules held (None when not run)."""

    @property
    def ok(self) -> bool:
        return bool(self.consistent is not False and self.conforms is not False and self.skos_ok is not False)


def _data_ntriples(store: Store, graphs: Sequence[str] | None) -> bytes:
    """Union of the store's graphs (or the chosen ones) as N-Triples."""
    import io

    buf = io.BytesIO()
    if graphs:
        for g in graphs:
            store.export(buf, "ntriples", graph=g)
    else:
        store.export(buf, "ntriples")
    return buf.getvalue()


def check_shacl(data_nt: bytes, *, shapes: Path | None = None) -> tuple[bool, list[Violation]]:
    """Validate data (plus the ontology, for RDFS subclass reasoning) against the SHACL shapes."""
    import pyshacl

    data = rdflib.Graph()
    data.parse(data=data_nt.decode("utf-8"), format="nt")
    ont = rdflib.Graph()
    ont.parse(ontology_path(), format="turtle")
    shapes_graph = rdflib.Graph()
    shapes_graph.parse(shapes or ontology_path(SHAPES_FILE), format="turtle")
    conforms, results, _ = pyshacl.validate(data, shacl_graph=shapes_graph, ont_graph=ont, inference="rdfs",
                                            advanced=True, allow_warnings=True)
    violations = []
    for r in results.subjects(RDF.type, SH.ValidationResult):
        def val(p: rdflib.URIRef, r: rdflib.term.Node = r) -> str | None:
            v = results.value(r, p)
            return str(v) if v is not None else None

        violations.append(Violation("shacl", val(SH.focusNode) or "?", val(SH.resultMessage) or "shape violated",
                                    val(SH.resultPath), val(SH.value), val(SH.sourceShape)))
    violations.sort(key=lambda v: (v.focus_node, v.message))
    return bool(conforms), violations


def _hermit_consistent(tbox_nt: bytes, abox_lines: Sequence[bytes]) -> bool:
    """Run HermiT on TBox + the given ABox lines; True when consistent."""
    import owlready2

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "check.nt"
        path.write_bytes(tbox_nt + b"\n".join(abox_lines) + b"\n")
        world = owlready2.World()
        onto = world.get_ontology(path.as_uri()).load(format="ntriples")
        try:
            with onto:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError:
            return False
        finally:
            world.close()
    return True


CONCEPT_CLASSES: tuple[str, ...] = ("MedicalConcept", "Disease", "ImagingFinding", "AnatomicalSite",
                                     "PathophysiologicalProcess", "Exposure", "Intervention", "Chemical", "Demographic",
                                     "AcquisitionFactor")
"""MCRAG's concept classes: what the SKOS rules look at (with ``skos:Concept``)."""

_FUNCTIONAL = tuple(f"<{MCRAG[p]}>".encode()
                    for p in ("polarity", "certainty", "confidence", "status", "version"))


def _is_suspect(lines: Sequence[bytes]) -> bool:
    """Several rdf:type triples, or a functional property with several values."""
    predicates = [ln.split(b" ", 2)[1] for ln in lines]
    if predicates.count(f"<{RDF.type}>".encode()) > 1:
        return True
    return any(predicates.count(p) > 1 for p in _FUNCTIONAL)


def check_owl(data_nt: bytes) -> tuple[bool, list[Violation]]:
    """HermiT consistency of ontology + data; when inconsistent, isolate the individuals at fault.

    HermiT only says *whether* the ABox is consistent, so the offending individuals are found by
    bisection over the data grouped by subject (O(k log n) reasoner calls for k culprits).
    """
    tbox = ox.serialize(ox.parse(path=str(ontology_path()), format=ox.RdfFormat.TURTLE),
                        format=ox.RdfFormat.N_TRIPLES) or b""
    by_subject: dict[str, list[bytes]] = {}
    for line in data_nt.splitlines():
        if line.strip():
            by_subject.setdefault(line.split(b" ", 1)[0].decode(), []).append(line)
    subjects = list(by_subject)
    if _hermit_consistent(tbox, [ln for s in subjects for ln in by_subject[s]]):
        return True, []
    # Cheap first guess: individuals with several types or repeated values are the usual culprits.
    suspects = [s for s in subjects if _is_suspect(by_subject[s])]
    if suspects and len(suspects) < len(subjects) and not _hermit_consistent(
            tbox, [ln for s in suspects for ln in by_subject[s]]):
        subjects = suspects

    def lines(group: Sequence[str]) -> list[bytes]:
        return [ln for s in group for ln in by_subject[s]]

    culprits: list[str] = []

    def search(group: list[str], context: list[str]) -> None:
        # Invariant: context + group is inconsistent; context alone is consistent.
        if len(group) == 1:
            culprits.append(group[0])
            return
        mid = len(group) // 2
        left, right = group[:mid], group[mid:]
        if not _hermit_consistent(tbox, lines(context + left)):
            search(left, context)
        elif not _hermit_consistent(tbox, lines(context + right)):
            search(right, context)
        else:
            # The clash needs individuals from both halves (e.g. a property linking them).
            search(left, context + right)

    search(subjects, [])
    violations = [Violation("owl", s.strip("<>"), "makes the ontology inconsistent (HermiT); "
                            "check its types against disjoint classes and its functional properties")
                  for s in culprits]
    return False, violations


# ------------------------------------------------------------------------------------ SKOS integrity
_QUALIFIERS = ", ".join(f'"{t}"' for t in sorted(QUALIFIER_TERMS))
_CONCEPT = "?c a ?k . VALUES ?k { skos:Concept " + " ".join(f"mcrag:{k}" for k in CONCEPT_CLASSES) + " }"

SKOS_RULES: tuple[tuple[str, str], ...] = (
    ("more than one skos:prefLabel in one language",
     "SELECT DISTINCT ?c ?value WHERE { " + _CONCEPT + " . ?c skos:prefLabel ?value , ?other . "
     "FILTER (?other != ?value && LANG(?other) = LANG(?value)) }"),
    ("shares its skos:prefLabel with another concept",
     "SELECT DISTINCT ?c ?value WHERE { " + _CONCEPT + " . ?c skos:prefLabel ?value . ?d skos:prefLabel ?value . "
     "FILTER (?d != ?c) FILTER NOT EXISTS { ?c dcterms:isReplacedBy ?d } "
     "FILTER NOT EXISTS { ?d dcterms:isReplacedBy ?c } }"),
    ("only a qualifier or modifier term, not a concept",
     "SELECT DISTINCT ?c ?value WHERE { " + _CONCEPT + " . ?c skos:prefLabel ?value . "
     f"FILTER (LCASE(STR(?value)) IN ({_QUALIFIERS})) }}"),
)
"""(message, query binding ``?c`` and ``?value``): the SKOS rules ``kg check`` adds. One prefLabel per
language (SKOS S14), no two concepts sharing a prefLabel (a merged concept, ``dcterms:isReplacedBy``
its survivor, is exempt), and no concept that is only a qualifier ("acute", "chronic", "position")."""


def check_skos(store: Store, graphs: Sequence[str] | None = None, *, data_nt: bytes | None = None) -> list[Violation]:
    """The SKOS integrity rules over the store's data (or the given N-Triples), one violation per node and rule."""
    data = data_nt if data_nt is not None else _data_ntriples(store, list(graphs) if graphs else None)
    mem = ox.Store()
    if data.strip():
        mem.bulk_load(data, format=ox.RdfFormat.N_TRIPLES)
    prologue = sparql_prologue()
    out = []
    for message, query in SKOS_RULES:
        solutions = mem.query(prologue + query)
        assert isinstance(solutions, ox.QuerySolutions)
        for row in solutions:
            node, value = row["c"], row["value"]
            out.append(Violation("skos", node.value if node is not None else "?", message,
                                 str(SKOS.prefLabel), value.value if value is not None else None))
    return sorted(out, key=lambda v: (v.focus_node, v.message))


def check_store(store: Store, *, graphs: Sequence[str] | None = None, owl: bool = True, shacl: bool = True,
                skos: bool = True, max_triples: int = 200_000) -> CheckReport:
    """Run the OWL, SHACL and SKOS checks on the store's data (excluding the ontology graph itself)."""
    chosen = list(graphs) if graphs else [g for g in store.named_graphs() if g != NAMED_GRAPHS["ontology"]]
    data = _data_ntriples(store, chosen) if chosen else b""
    n = data.count(b"\n")
    if n > max_triples:
        raise ValueError(f"{n} triples is more than the check limit of {max_triples}; check one graph with --graph")
    violations: list[Violation] = []
    consistent = conforms = skos_ok = None
    if owl:
        consistent, v = check_owl(data)
        violations += v
    if shacl:
        conforms, v = check_shacl(data)
        violations += v
    if skos:
        v = check_skos(store, data_nt=data)
        skos_ok = not v
        violations += v
    return CheckReport(consistent, conforms, tuple(violations), n, skos_ok)
