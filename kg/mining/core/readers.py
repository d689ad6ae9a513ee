"""Read reports and abstracts from the formats users have, one :class:`Document` at a time.

Reports: IU-Xray ``annotation.json`` (R2Gen split format), Open-i XML, plain text (one report per
file) and CSV. Abstracts: PubTator (with gold mentions and CID relations when present), PubMed XML,
JSON (PubMed-like records or PubMedQA) and plain text. A file or record that cannot be read becomes a
:class:`Skipped` with its reason instead of stopping the run.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from kg.mining.core.documents import (
    MAX_DOCUMENT_CHARS,
    Document,
    DocumentKind,
    GoldMention,
    Skipped,
    check_text,
)

log = logging.getLogger(__name__)

Item = Document | Skipped

MAX_FILE_BYTES = 512 * 1024 * 1024
"""Files above this size are refused whole: no corpus file we read comes near it."""

REPORT_SUFFIXES = (".json", ".xml", ".txt", ".csv", ".tsv")
LITERATURE_SUFFIXES = (".pubtator", ".txt", ".xml", ".json", ".tsv")


class UnreadableFile(Exception):
    """A file that is not what its extension promises; the message is the reason shown to the user."""


def read_text_file(path: Path) -> str:
    """UTF-8 text of a file (a BOM is dropped); raises :class:`UnreadableFile` with the reason."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UnreadableFile(f"file too large ({size} bytes > {MAX_FILE_BYTES})")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UnreadableFile(f"not UTF-8 text (byte {err.start}: {raw[err.start:err.start + 1]!r})") from None


def _files(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes
                  and not p.name.startswith("."))


def _checked(doc: Document, max_chars: int) -> Item:
    reason = check_text(doc.doc_id, doc.text, max_chars)
    return Skipped(f"{doc.source}:{doc.doc_id}", reason) if reason else doc


def _clean_ws(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text).strip()


# ---------------------------------------------------------------- reports

def _iter_files(path: Path | str, suffixes: tuple[str, ...], default_source: str, source: str | None,
                max_chars: int, parse: Callable[[str, Path, str], Iterable[Item]]) -> Iterator[Item]:
    """Documents of every file under ``path`` by ``parse``; a file that cannot be read or parsed is skipped."""
    for f in _files(Path(path), suffixes):
        src = source or _source_name(f, default_source)
        try:
            for item in parse(read_text_file(f), f, src):
                yield _checked(item, max_chars) if isinstance(item, Document) else item
        except (UnreadableFile, ValueError, ET.ParseError, csv.Error, KeyError, TypeError) as err:
            log.warning("skipped %s: %s", f, err)
            yield Skipped(str(f), _reason(err))


def iter_report_documents(path: Path | str, *, max_chars: int = MAX_DOCUMENT_CHARS,
                          source: str | None = None) -> Iterator[Item]:
    """Reports from a file or a folder (recursively, in name order)."""
    return _iter_files(path, REPORT_SUFFIXES, "reports", source, max_chars, _report_file)


def _report_file(text: str, f: Path, src: str) -> Iterable[Item]:
    suffix = f.suffix.lower()
    if suffix == ".json":
        return _reports_from_json(text, f, src)
    if suffix == ".xml":
        return [_report_from_openi_xml(text, f, src)]
    if suffix in (".csv", ".tsv"):
        return _reports_from_csv(text, f, src, "\t" if suffix == ".tsv" else ",")
    return [Document(f.stem, text.strip(), src, "report")]


def _reason(err: Exception) -> str:
    if isinstance(err, json.JSONDecodeError):
        return f"malformed JSON ({err.msg} at line {err.lineno})"
    if isinstance(err, ET.ParseError):
        return f"malformed XML ({err})"
    return str(err) or type(err).__name__


def _source_name(f: Path, default: str) -> str:
    name = f.parent.name or default
    return re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_").lower() or default


def _reports_from_json(text: str, f: Path, src: str) -> Iterator[Item]:
    data = json.loads(text)
    if isinstance(data, dict) and any(k in data for k in ("train", "val", "test")):
        for split in ("train", "val", "test"):  # R2Gen / IU-Xray annotation.json
            for i, rec in enumerate(data.get(split) or []):
                yield _report_record(rec, f"{f.name}:{split}[{i}]", src, split)
        return
    records = data if isinstance(data, list) else data.get("reports") if isinstance(data, dict) else None
    if not isinstance(records, list):
        raise ValueError("JSON holds neither an annotation.json split object nor a list of reports")
    for i, rec in enumerate(records):
        yield _report_record(rec, f"{f.name}[{i}]", src, "")


def _report_record(rec: Any, where: str, src: str, split: str) -> Item:
    if not isinstance(rec, dict):
        return Skipped(where, "record is not a JSON object")
    rid = rec.get("id") or rec.get("report_id") or rec.get("uid")
    report = rec.get("report") or rec.get("text")
    if report is None and ("findings" in rec or "impression" in rec):
        report = "\n".join(f"{k.upper()}: {rec[k]}" for k in ("findings", "impression") if rec.get(k))
    if not rid or not isinstance(report, str):
        return Skipped(where, "record lacks an id or a report text")
    meta: list[tuple[str, str]] = []
    if isinstance(rec.get("image_path"), list):
        meta.append(("n_images", str(len(rec["image_path"]))))
    if rec.get("view"):
        meta.append(("view", str(rec["view"])))
    return Document(str(rid), report, src, "report", split or str(rec.get("split") or ""), meta=tuple(meta))


def _report_from_openi_xml(text: str, f: Path, src: str) -> Document:
    root = ET.fromstring(text)
    uid = root.find(".//uId")
    rid = uid.get("id") if uid is not None and uid.get("id") else f.stem
    parts = []
    for node in root.iter("AbstractText"):
        label = (node.get("Label") or "").upper()
        body = _clean_ws("".join(node.itertext()))
        if body:
            parts.append(f"{label}: {body}" if label else body)
    if not parts:
        raise ValueError("Open-i XML without AbstractText sections")
    return Document(str(rid), "\n".join(parts), src, "report")


_ID_COLUMNS = ("report_id", "id", "uid", "filename", "study_id", "pmid")
_TEXT_COLUMNS = ("report", "text", "findings", "impression", "abstract")


def _reports_from_csv(text: str, f: Path, src: str, delimiter: str) -> Iterator[Item]:
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    cols = {h.strip().lower(): h for h in (reader.fieldnames or [])}
    id_col = next((cols[c] for c in _ID_COLUMNS if c in cols), None)
    text_cols = [cols[c] for c in _TEXT_COLUMNS if c in cols]
    if not text_cols:
        raise ValueError(f"CSV has no report text column (looked for {', '.join(_TEXT_COLUMNS)}; found {header})")
    for i, row in enumerate(reader, start=2):
        rid = (row.get(id_col) or "").strip() if id_col else f"{f.stem}-{i - 1}"
        if len(text_cols) > 1 and {"findings", "impression"} <= set(header):
            body = "\n".join(f"{c.upper()}: {row[c]}" for c in text_cols if (row.get(c) or "").strip())
        else:
            body = row.get(text_cols[0]) or ""
        if not rid:
            yield Skipped(f"{f.name}:{i}", "row without a report id")
            continue
        split = (row.get(cols["split"]) or "").strip() if "split" in cols else ""
        yield Document(rid, body, src, "report", split)


# ---------------------------------------------------------------- literature

def iter_literature_documents(path: Path | str, *, max_chars: int = MAX_DOCUMENT_CHARS,
                              source: str | None = None) -> Iterator[Item]:
    """Abstracts from a file or a folder (recursively, in name order)."""
    return _iter_files(path, LITERATURE_SUFFIXES, "literature", source, max_chars, _literature_file)


def _literature_file(text: str, f: Path, src: str) -> Iterable[Item]:
    suffix = f.suffix.lower()
    if suffix == ".xml":
        return _abstracts_from_pubmed_xml(text, f, src)
    if suffix == ".json":
        return _abstracts_from_json(text, f, src)
    if suffix == ".pubtator" or _looks_like_pubtator(text):
        return parse_pubtator(text, src)
    title, _, body = text.strip().partition("\n")
    return [_abstract(f.stem, title.strip(), _clean_ws(body.replace("\n", " ")), src)]


def _abstract(doc_id: str, title: str, abstract: str, src: str, split: str = "") -> Document:
    text = f"{title} {abstract}" if title and abstract else (title or abstract)
    return Document(doc_id, text, src, "abstract", split, title_end=len(title))


_PUBTATOR_TITLE = re.compile(r"^(\d+|[^|\s]+)\|t\|", re.M)


def _looks_like_pubtator(text: str) -> bool:
    return bool(_PUBTATOR_TITLE.search(text[:5000]))


def parse_pubtator(text: str, source: str, split: str = "") -> Iterator[Item]:
    """PubTator blocks: ``id|t|title``, ``id|a|abstract``, mention lines and ``CID`` relation lines.

    Offsets refer to ``title + ' ' + abstract``, which is exactly :class:`Document`'s text.
    """
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        try:
            yield _pubtator_block(lines, source, split)
        except (ValueError, IndexError) as err:
            head = lines[0][:40]
            yield Skipped(f"{source}:{head}", f"malformed PubTator block ({err})")


def _pubtator_block(lines: list[str], source: str, split: str) -> Document:
    title = abstract = ""
    pmid = ""
    mentions: list[GoldMention] = []
    relations: list[tuple[str, str]] = []
    for ln in lines:
        if "|t|" in ln[:30]:
            pmid, _, title = ln.partition("|t|")
        elif "|a|" in ln[:30]:
            pmid, _, abstract = ln.partition("|a|")
        else:
            cols = ln.split("\t")
            if len(cols) >= 4 and cols[1] == "CID":
                relations.append((_mesh(cols[2]), _mesh(cols[3])))
            elif len(cols) >= 5:
                ids = tuple(_mesh(x) for x in (cols[5].split("|") if len(cols) > 5 else []) if x and x != "-1")
                mentions.append(GoldMention(int(cols[1]), int(cols[2]), cols[3], cols[4], ids))
            else:
                raise ValueError(f"unexpected line {ln[:60]!r}")
    if not pmid:
        raise ValueError("no title or abstract line")
    doc = _abstract(pmid.strip(), title.strip(), abstract.strip(), source, split)
    doc = Document(doc.doc_id, f"{title} {abstract}" if abstract else title, source, "abstract", split,
                   title_end=len(title), mentions=tuple(mentions), relations=tuple(relations))
    for m in mentions:
        if doc.text[m.start:m.end] != m.text:
            raise ValueError(f"mention {m.text!r} does not match its offsets {m.start}-{m.end}")
    return doc


def _mesh(raw: str) -> str:
    raw = raw.strip()
    return raw if ":" in raw else f"MESH:{raw}"


def _abstracts_from_pubmed_xml(text: str, f: Path, src: str) -> Iterator[Item]:
    root = ET.fromstring(text)
    articles = list(root.iter("PubmedArticle")) or ([root] if root.find(".//ArticleTitle") is not None else [])
    if not articles:
        raise ValueError("PubMed XML without PubmedArticle elements")
    for i, art in enumerate(articles):
        pmid_node = art.find(".//PMID")
        pmid = (pmid_node.text or "").strip() if pmid_node is not None else ""
        title_node = art.find(".//ArticleTitle")
        title = _clean_ws("".join(title_node.itertext())) if title_node is not None else ""
        parts = []
        for node in art.iter("AbstractText"):
            body = _clean_ws("".join(node.itertext()))
            label = node.get("Label")
            if body:
                parts.append(f"{label}: {body}" if label else body)
        if not pmid:
            yield Skipped(f"{f.name}[{i}]", "PubmedArticle without PMID")
            continue
        yield _abstract(pmid, title, " ".join(parts), src)


def _abstracts_from_json(text: str, f: Path, src: str) -> Iterator[Item]:
    data = json.loads(text)
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        records = [{"pmid": k, **v} for k, v in data.items()]  # PubMedQA: {pmid: {...}}
    elif isinstance(data, list):
        records = data
    elif isinstance(data, dict) and isinstance(data.get("articles"), list):
        records = data["articles"]
    else:
        raise ValueError("JSON holds neither a list of abstracts nor an object keyed by PMID")
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            yield Skipped(f"{f.name}[{i}]", "record is not a JSON object")
            continue
        pmid = str(rec.get("pmid") or rec.get("id") or rec.get("PMID") or "")
        title = str(rec.get("title") or rec.get("QUESTION") or "") if "title" in rec else ""
        body = rec.get("abstract") or rec.get("text") or rec.get("CONTEXTS") or ""
        if isinstance(body, list):
            body = " ".join(str(x) for x in body)
        if not pmid:
            yield Skipped(f"{f.name}[{i}]", "record lacks a pmid or id")
            continue
        yield _abstract(pmid, _clean_ws(title), _clean_ws(str(body)), src)


def documents_only(items: Iterable[Item], skipped: list[Skipped] | None = None) -> Iterator[Document]:
    """Documents from a reader, collecting the skipped ones into ``skipped`` when given."""
    for item in items:
        if isinstance(item, Document):
            yield item
        elif skipped is not None:
            skipped.append(item)


def iter_documents(kind: DocumentKind, path: Path | str, **kw: Any) -> Iterator[Item]:
    """Dispatch to the report or the literature reader."""
    return iter_report_documents(path, **kw) if kind == "report" else iter_literature_documents(path, **kw)
