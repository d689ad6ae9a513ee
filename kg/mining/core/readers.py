"""Read reports and abstracts from the formats users have, one :class:`Document` at a time.

Reports: IU-Xray ``annotation.json`` (R2Gen split format, findings only), the Open-i XML of the full
reports (one file each, a folder of them, or the ``NLMCXR_reports.tgz`` archive as shipped: indication,
comparison, findings and impression kept apart, with the image ids and Open-i's MeSH indexing), plain
text (one report per file) and CSV. Abstracts: PubTator (with gold mentions and CID relations when present), PubMed XML,
JSON (PubMed-like records or PubMedQA, whose labelled contexts and long answer become sections), MedQuAD
question-answer pages (one document per page, each answer a section named by its question type) and
plain text. A file or record that cannot be read becomes a
:class:`Skipped` with its reason instead of stopping the run.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from kg.mining.core.documents import (
    MAX_DOCUMENT_CHARS,
    Document,
    DocumentKind,
    Mention,
    Skipped,
    check_text,
)

log = logging.getLogger(__name__)

Item = Document | Skipped

MAX_FILE_BYTES = 512 * 1024 * 1024
"""Files above this size are refused whole: no corpus file we read comes near it."""

REPORT_SUFFIXES = (".json", ".xml", ".txt", ".csv", ".tsv", ".tgz", ".gz")
ARCHIVE_SUFFIXES = (".tgz", ".tar.gz")
"""Gzipped tar archives of Open-i XML reports (``NLMCXR_reports.tgz``)."""
OPENI_SOURCE = "iu_xray"
"""Source name of the reports read from an Open-i archive: the IU-Xray collection."""
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
                  and not p.name.startswith(".") and (p.suffix.lower() != ".gz" or _is_archive(p)))


def _checked(doc: Document, max_chars: int) -> Item:
    reason = check_text(doc.doc_id, doc.text, max_chars)
    return Skipped(f"{doc.source}:{doc.doc_id}", reason) if reason else doc


def _clean_ws(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text).strip()


# ---------------------------------------------------------------- reports

def _iter_files(path: Path | str, suffixes: tuple[str, ...], default_source: str, source: str | None,
                max_chars: int, parse: Callable[[str, Path, str], Iterable[Item]],
                archive: Callable[[Path, str | None, int], Iterable[Item]] | None = None) -> Iterator[Item]:
    """Documents of every file under ``path`` by ``parse`` (archives by ``archive``); a file that cannot be
    read or parsed is skipped."""
    for f in _files(Path(path), suffixes):
        src = source or _source_name(f, default_source)
        try:
            if _is_archive(f):
                if archive is None:
                    raise UnreadableFile("archives are not read here")
                yield from archive(f, source, max_chars)
                continue
            if f.suffix.lower() == ".gz":
                raise UnreadableFile("a .gz file that is not a .tar.gz archive of Open-i XML reports")
            for item in parse(read_text_file(f), f, src):
                yield _checked(item, max_chars) if isinstance(item, Document) else item
        except (UnreadableFile, ValueError, ET.ParseError, csv.Error, KeyError, TypeError, tarfile.TarError,
                EOFError, OSError) as err:
            log.warning("skipped %s: %s", f, err)
            yield Skipped(str(f), _reason(err))


def iter_report_documents(path: Path | str, *, max_chars: int = MAX_DOCUMENT_CHARS, source: str | None = None,
                          splits: Mapping[str, str] | None = None) -> Iterator[Item]:
    """Reports from a file, a folder (recursively, in name order) or an Open-i ``.tgz`` archive.

    ``splits`` maps a study id (``CXR1``, see :func:`study_id`) to its split (``train`` / ``val`` /
    ``test``, as :func:`read_r2gen_splits` reads them); it fills the split of reports that carry none.
    """
    items: Iterator[Item] = _iter_files(path, REPORT_SUFFIXES, "reports", source, max_chars, _report_file,
                                        archive=_archive_reports)
    return _with_splits(items, splits) if splits else items


def study_id(report_id: str) -> str:
    """The Open-i study id of a report or image id: ``CXR1`` for ``CXR1``, ``CXR1_1_IM-0001`` or
    ``CXR1_1_IM-0001-3001``; the key of ``openi_labels.csv`` and of the R2Gen split."""
    return report_id.split("_", 1)[0]


def read_r2gen_splits(annotation_json: Path | str) -> dict[str, str]:
    """Study id -> split from an R2Gen ``annotation.json`` (``{"train": [{"id": ...}], ...}``)."""
    path = Path(annotation_json)
    try:
        data = json.loads(read_text_file(path))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: malformed JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(data, dict) or not any(k in data for k in ("train", "val", "test")):
        raise ValueError(f"{path}: not an R2Gen annotation.json (no train / val / test key)")
    out: dict[str, str] = {}
    for split in ("train", "val", "test"):
        for rec in data.get(split) or []:
            if isinstance(rec, dict) and rec.get("id"):
                out[study_id(str(rec["id"]))] = split
    return out


def _with_splits(items: Iterable[Item], splits: Mapping[str, str]) -> Iterator[Item]:
    for item in items:
        if isinstance(item, Document) and not item.split:
            split = splits.get(study_id(item.doc_id), "")
            if split:
                item = replace(item, split=split)
        yield item


def _is_archive(f: Path) -> bool:
    name = f.name.lower()
    return name.endswith(ARCHIVE_SUFFIXES)


def _archive_reports(f: Path, source: str | None, max_chars: int) -> Iterator[Item]:
    """Every ``.xml`` member of a gzipped tar archive, in name order, each read as an Open-i report."""
    src = source or OPENI_SOURCE
    size = f.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UnreadableFile(f"file too large ({size} bytes > {MAX_FILE_BYTES})")
    with tarfile.open(f, mode="r:gz") as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.lower().endswith(".xml")
                          and not Path(m.name).name.startswith(".")), key=lambda m: _natural(m.name))
        if not members:
            raise ValueError("archive holds no .xml reports")
        for m in members:
            where = f"{f.name}:{m.name}"
            if m.size > MAX_FILE_BYTES:
                yield Skipped(where, f"file too large ({m.size} bytes > {MAX_FILE_BYTES})")
                continue
            fh = tar.extractfile(m)
            raw = fh.read() if fh is not None else b""
            try:
                item = _report_from_openi_xml(raw.decode("utf-8-sig"), Path(m.name), src)
            except UnicodeDecodeError as err:
                yield Skipped(where, f"not UTF-8 text (byte {err.start})")
                continue
            except (ValueError, ET.ParseError) as err:
                yield Skipped(where, _reason(err))
                continue
            yield _checked(item, max_chars) if isinstance(item, Document) else item


def read_openi_report(xml: str, source: str = OPENI_SOURCE) -> Item:
    """One Open-i XML report given as text (see :func:`iter_report_documents` for files and archives)."""
    return _report_from_openi_xml(xml, Path("report.xml"), source)


def _natural(name: str) -> tuple[Any, ...]:
    """Name order with numbers compared as numbers: ``2.xml`` before ``10.xml``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


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


OPENI_SECTIONS: dict[str, str] = {"COMPARISON": "comparison", "INDICATION": "indication", "FINDINGS": "findings",
                                  "IMPRESSION": "impression"}
"""Open-i ``AbstractText`` labels and the section names the miner uses for them."""


def _report_from_openi_xml(text: str, f: Path, src: str) -> Item:
    """One Open-i report: ``LABEL: body`` lines in the XML's order, each body's offsets in ``sections``.

    Meta: ``study_id``, ``images`` (space-separated image ids), ``n_images``, and Open-i's MeSH indexing
    (``mesh_major`` / ``mesh_automatic``, terms separated by ``|``). A report whose findings and impression
    are both empty is skipped: nothing in it says what the film showed.
    """
    root = ET.fromstring(text)
    uid = root.find(".//uId")
    rid = uid.get("id") if uid is not None and uid.get("id") else f.stem
    parts: list[str] = []
    sections: list[tuple[str, int, int]] = []
    offset = 0
    nodes = list(root.iter("AbstractText"))
    if not nodes:
        raise ValueError("Open-i XML without AbstractText sections")
    for node in nodes:
        raw_label = (node.get("Label") or "").strip()
        label = raw_label.upper()
        body = _clean_ws(" ".join("".join(node.itertext()).split("\n")))
        if not body:
            continue
        head = f"{label}: " if label else ""
        sections.append((OPENI_SECTIONS.get(label, raw_label.lower() or "report"),
                         offset + len(head), offset + len(head) + len(body)))
        parts.append(head + body)
        offset += len(head) + len(body) + 1
    names = {name for name, _, _ in sections}
    if not parts or (names <= set(OPENI_SECTIONS.values()) and not names & {"findings", "impression"}):
        return Skipped(f"{src}:{rid}", "empty report (no findings or impression text)")
    images = [p.get("id") or "" for p in root.iter("parentImage") if p.get("id")]
    meta: list[tuple[str, str]] = [("study_id", study_id(str(rid))), ("images", " ".join(images)),
                                   ("n_images", str(len(images)))]
    mesh = root.find("MeSH")
    if mesh is not None:
        for kind in ("major", "automatic"):
            terms = [_clean_ws(m.text or "") for m in mesh.findall(kind) if (m.text or "").strip()]
            if terms:
                meta.append((f"mesh_{kind}", "|".join(terms)))
    return Document(str(rid), "\n".join(parts), src, "report", meta=tuple(meta), sections=tuple(sections))


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
    if suffix == ".xml" and _MEDQUAD_ROOT.search(text[:2000]):
        return [_medquad_page(text, f)]
    if suffix == ".xml":
        return _abstracts_from_pubmed_xml(text, f, src)
    if suffix == ".json":
        return _abstracts_from_json(text, f, src)
    if suffix == ".pubtator" or _looks_like_pubtator(text):
        return parse_pubtator(text, src)
    title, _, body = text.strip().partition("\n")
    return [_abstract(f.stem, title.strip(), _clean_ws(body.replace("\n", " ")), src)]


_MEDQUAD_ROOT = re.compile(r"<(?:Document|DiseaseFile)\b[^>]*>\s*<Focus>", re.S)
"""A MedQuAD page's root (one CDC page has ``<DiseaseFile fid=...>`` instead of ``<Document id=...>``)."""
_SYLLABLES = r"[A-Za-z]+(?:-[A-Za-z]+)+"
_PRONUNCIATION = re.compile(r"\s?\((" + _SYLLABLES + r")(?:\s+or\s+" + _SYLLABLES + r")?(?:;[^)]*)?\)")


def _strip_pronunciation(text: str) -> str:
    """Drop pronunciation guides ("aneurysm (AN-u-rism)", "angina (an-JI-nuh or AN-juh-nuh)"): a stressed
    all-capital syllable beside lower-case ones; a hyphenated name ("Ehlers-Danlos") is kept."""
    def drop(m: re.Match[str]) -> str:
        parts = m.group(1).split("-")
        stressed = any(p.isupper() and len(p) > 1 for p in parts) and any(p.islower() for p in parts)
        return "" if stressed else m.group(0)
    return _PRONUNCIATION.sub(drop, text)
_HEADING_WORDS = 8


def _paragraphs(answer: str) -> list[str]:
    """An answer's paragraphs and list items; blank lines and headings left out. A short line without a
    full stop is a list item after a line that ends with a colon or after another item without a full stop
    ("Other causes include:", "High blood pressure"), else a heading ("Overview")."""
    out: list[str] = []
    in_list = False
    for raw in answer.split("\n"):
        p = _clean_ws(_strip_pronunciation(raw))
        if not p:
            continue
        short = len(p.split()) <= _HEADING_WORDS and not re.search(r"[.:;!?)]$", p)
        if short and not in_list:
            continue
        in_list = p.endswith(":") or (in_list and not re.search(r"[.!?]$", p))
        out.append(p)
    return out


def _medquad_page(text: str, f: Path) -> Document:
    """A MedQuAD page: the focus as the title, then each answer as a section named by its question type;
    paragraphs are separated by a line break, so no sentence runs across two of them."""
    root = ET.fromstring(text)
    page_id = root.get("id") or root.get("fid") or f.stem
    collection = (root.get("source") or f.parent.name).strip()
    focus = _clean_ws(root.findtext("Focus") or "")
    parts: list[str] = [focus]
    sections: list[tuple[str, int, int]] = []
    offset = len(focus)
    for qa in root.iter("QAPair"):
        answer = qa.findtext("Answer") or ""
        q = qa.find("Question")
        qtype = (q.get("qtype") if q is not None else None) or "answer"
        paras = _paragraphs(answer)
        if not paras:
            continue
        body = "\n".join(paras)
        start = offset + 2
        parts.append(body)
        sections.append((qtype, start, start + len(body)))
        offset = start + len(body)
    if not sections:
        raise ValueError("MedQuAD page without answers")
    meta = (("collection", collection), ("url", root.get("url") or ""), ("focus", focus))
    return Document(f"{collection}-{page_id}", "\n\n".join(parts), f"medquad_{collection.lower()}", "abstract",
                    title_end=len(focus), meta=meta, sections=tuple(sections))


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
    mentions: list[Mention] = []
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
                mentions.append(Mention(int(cols[1]), int(cols[2]), cols[3], cols[4], ids))
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
        if not pmid:
            yield Skipped(f"{f.name}[{i}]", "record lacks a pmid or id")
            continue
        if isinstance(body, list) and (isinstance(rec.get("LABELS"), list) or rec.get("LONG_ANSWER")):
            yield _sectioned_abstract(pmid, _clean_ws(title), [_clean_ws(str(x)) for x in body],
                                      [str(x) for x in rec.get("LABELS") or []], str(rec.get("LONG_ANSWER") or ""), src)
            continue
        if isinstance(body, list):
            body = " ".join(str(x) for x in body)
        yield _abstract(pmid, _clean_ws(title), _clean_ws(str(body)), src)


def _sectioned_abstract(pmid: str, title: str, contexts: list[str], labels: list[str], long_answer: str,
                        src: str) -> Document:
    """A PubMedQA record: each context a section under its label (``BACKGROUND``, ``RESULTS``...), the long
    answer (the abstract's conclusion, which PubMedQA takes out of the contexts) a ``CONCLUSIONS`` section."""
    parts = [(labels[k].lower() if k < len(labels) and labels[k] else "abstract", c) for k, c in enumerate(contexts) if c]
    if long_answer.strip():
        parts.append(("conclusions", _clean_ws(long_answer)))
    text = title
    sections = []
    for name, body in parts:
        start = len(text) + 1 if text else 0
        text = f"{text} {body}" if text else body
        sections.append((name, start, start + len(body)))
    return Document(pmid, text, src, "abstract", title_end=len(title), sections=tuple(sections))


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
