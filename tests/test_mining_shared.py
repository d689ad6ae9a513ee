"""The miners on the shared data sets (skipped with a reason when the data folder is absent)."""

from __future__ import annotations

import pytest

from benchmarks.iu_xray import study_key
from benchmarks.metrics import PRF, column_prf
from kg.concepts import FINDINGS
from kg.mining.literature.gold_corpora import iter_cid_pairs, read_ade, read_bc5cdr, split_ade
from vlm.data import read_openi_labels

pytestmark = pytest.mark.shared_data


def test_bc5cdr_counts_match_the_corpus(shared_data) -> None:
    train = read_bc5cdr(shared_data / "literature" / "bc5cdr" / "CDR_TrainingSet.PubTator.txt")
    dev = read_bc5cdr(shared_data / "literature" / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt")
    assert len(train) == 500 and len(dev) == 500
    assert len(set(iter_cid_pairs(train))) == 1038 and len(set(iter_cid_pairs(dev))) == 1012
    assert all(d.text[m.start:m.end] == m.text for d in dev for m in d.mentions)


def test_ade_split_is_by_pmid_and_keeps_every_relation(shared_data) -> None:
    sentences = read_ade(shared_data / "literature" / "ade_corpus_v2")
    positives = [s for s in sentences if s.relations]
    assert 4200 <= len(positives) <= 4300 and len(sentences) > 20000
    assert sum(len(s.relations) for s in positives) >= 6600
    train, held = split_ade(sentences, seed=13)
    assert not {s.pmid for s in train} & {s.pmid for s in held}
    assert 0.15 < len(held) / len(sentences) < 0.25
    for s in positives[:200]:
        for r in s.relations:
            assert s.text[r.drug_span[0]:r.drug_span[1]].lower() == r.drug.lower()


@pytest.mark.slow
def test_report_findings_agree_with_openi_gold_on_test_reports(shared_data) -> None:
    from kg.mining.api import report_findings_table

    rows, summary = report_findings_table(shared_data / "iu_xray" / "annotation.json",
                                          labeler_dir=shared_data / "labeler", limit=2955)
    assert summary.documents == 2955 and summary.skipped == 0
    gold = read_openi_labels(shared_data / "iu_xray" / "openi_labels.csv")
    test = [r for r in rows if r.split == "test"]
    assert len(test) == 590
    total = PRF(0, 0, 0)
    for f in FINDINGS[:-1]:
        s = column_prf([1 if r.status(f) == "present" else 0 for r in test],
                       [gold[study_key(r.report_id)][f] for r in test])
        total = PRF(total.tp + s.tp, total.fp + s.fp, total.fn + s.fn)
    assert total.precision > 0.8 and total.recall > 0.6
