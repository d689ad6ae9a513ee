"""RDF/XML is read only when it declares no XML entities and nests no deeper than a fixed limit.

Oxigraph's RDF/XML parser expands internal entities (a kilobyte of "billion laughs" becomes
gigabytes) and its cost grows with the square of the nesting depth. Before a document reaches it,
an expat pass with defusedxml's checks refuses any entity declaration (entities are never expanded,
also not by this check) and any element nested deeper than :data:`MAX_RDFXML_DEPTH`. The pass is
linear and streams, so a file is never held in memory for it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler

from defusedxml import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

from kg.errors import MalformedRDFError

MAX_RDFXML_DEPTH = 256
"""Deepest element nesting accepted; ontology editors write well under 30."""
_CHUNK = 1 << 20


class _Depth(ContentHandler):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.depth = 0
        self.name = name
        self.locator = None

    def setDocumentLocator(self, locator) -> None:  # noqa: N802 - SAX API
        self.locator = locator

    def startElementNS(self, name, qname, attrs) -> None:  # noqa: N802 - SAX API
        self.depth += 1
        if self.depth > MAX_RDFXML_DEPTH:
            line = self.locator.getLineNumber() if self.locator is not None else None
            raise MalformedRDFError(f"RDF/XML nested deeper than {MAX_RDFXML_DEPTH} elements is refused "
                                    "(nothing was loaded)", source=self.name, line=line)

    def endElementNS(self, name, qname) -> None:  # noqa: N802 - SAX API
        self.depth -= 1


def check_rdfxml(source: Path | bytes | str, name: str = "<input>") -> None:
    """Raise :class:`MalformedRDFError` for entity declarations, external entities, deep nesting or bad XML."""
    parser = DefusedExpatParser(forbid_dtd=False, forbid_entities=True, forbid_external=True)
    parser.setFeature("http://xml.org/sax/features/namespaces", True)
    handler = _Depth(name)
    parser.setContentHandler(handler)
    stream: BinaryIO
    if isinstance(source, Path):
        stream = source.open("rb")
    else:
        stream = io.BytesIO(source.encode("utf-8") if isinstance(source, str) else source)
    try:
        with stream:
            while chunk := stream.read(_CHUNK):
                parser.feed(chunk)
            parser.close()
    except DefusedXmlException as err:
        raise MalformedRDFError(f"RDF/XML that declares XML entities is refused, since entities are never "
                                f"expanded (entity {getattr(err, 'name', '?')!r}); write the IRIs out in full or "
                                "convert the file to Turtle (nothing was loaded)", source=name) from None
    except SAXParseException as err:
        raise MalformedRDFError(f"not well-formed XML: {err.getMessage()} (nothing was loaded)", source=name,
                                line=err.getLineNumber()) from None
