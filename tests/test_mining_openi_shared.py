"""The IU-Xray full reports of the data folder: every study read and joined to its split and gold row."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kg.concepts import FINDINGS
from kg.mining.core.documents import Document, Skipped
from kg.mining.core.readers import iter_report_documents, read_r2gen_splits

pytestmark = pytest.mark.shared_data


def _archive(shared_data: Path) -> Path:
    path = shared_data / "cxr_labels" / "NLMCXR_reports.tgz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


def test_every_open_i_report_is_read_with_its_sections_and_split(shared_data: Path) -> None:
    from vlm.data import read_openi_labels

    splits = read_r2gen_splits(shared_data / "iu_xray" / "annotation.json")
    items = list(iter_report_documents(_archive(shared_data), splits=splits))
    docs = [i for i in items if isinstance(i, Document)]
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert (len(docs), len(skipped)) == (3927, 28)
    assert {s.reason for s in skipped} == {"empty report (no findings or impression text)"}
    assert Counter(d.split for d in docs) == {"train": 2069, "val": 296, "test": 590, "": 972}
    gold = read_openi_labels(shared_data / "iu_xray" / "openi_labels.csv")
    missing = set(gold) - {d.doc_id for d in docs}  # gold studies whose report says nothing: skipped, with why
    assert len(missing) == 25 and {f"iu_xray:{m}" for m in missing} <= {s.where for s in skipped}
    with_impression = sum(1 for d in docs if any(name == "impression" for name, _, _ in d.sections))
    assert with_impression > 3800
    for d in docs[:50]:
        for _, a, b in d.sections:
            assert d.text[a:b].strip() == d.text[a:b] and d.text[a - 2:a] == ": "


@pytest.mark.slow
def test_open_i_labels_of_the_tuning_reports_agree_with_the_gold(shared_data: Path) -> None:
    """Regression guard on the reports the rules were tuned on (train, val, outside R2Gen), never test."""
    from kg.mining.api import report_findings_table
    from vlm.data import read_openi_labels

    splits = read_r2gen_splits(shared_data / "iu_xray" / "annotation.json")
    rows, _ = report_findings_table(_archive(shared_data), labeler_dir=shared_data / "labeler", splits=splits)
    gold = read_openi_labels(shared_data / "iu_xray" / "openi_labels.csv")
    tuning = [r for r in rows if r.split != "test" and r.report_id in gold]
    f1s = []
    for f in FINDINGS[:-1]:
        tp = sum(1 for r in tuning if f in r.labels and gold[r.report_id][f])
        fp = sum(1 for r in tuning if f in r.labels and not gold[r.report_id][f])
        fn = sum(1 for r in tuning if f not in r.labels and gold[r.report_id][f])
        f1s.append(2 * tp / (2 * tp + fp + fn))
    assert sum(f1s) / len(f1s) > 0.93
