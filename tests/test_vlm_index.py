"""Exemplar index: HNSW search, persistence, confounder weights, filtered search, and missing indexes."""

from __future__ import annotations

import numpy as np
import pytest

from vlm.errors import IndexMissingError
from vlm.index import Exemplar, ExemplarIndex, confounder_weights, index_from_vectors, stratum_centroids
from vlm.labels import LABEL_INDEX, NORMAL


def _unit(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _bits(*names: str) -> int:
    return sum(1 << LABEL_INDEX[n] for n in names)


def test_search_finds_each_vector_itself_and_survives_save_and_load(tmp_path):
    vecs = _unit(300)
    lb = np.array([_bits("Effusion") if i % 3 == 0 else _bits("normal") for i in range(300)], dtype=np.uint32)
    kb = np.full(300, _bits("Effusion", "normal"), dtype=np.uint32)
    strata = [f"src{i % 2}|PA|department" for i in range(300)]
    ex = [Exemplar(f"case-{i}", f"src{i % 2}", "train", "PA", "department", ("Effusion",) if i % 3 == 0 else ("normal",),
                   f"report {i}") for i in range(300)]
    idx = index_from_vectors(vecs, lb, kb, strata, exemplars=ex, hnsw_m=8, ef_construction=40, ef_search=64,
                             info={"encoder": "test-model", "sources": ("src0", "src1")})
    sims, rows = idx.search(vecs[17], 3)
    assert rows[0][0] == 17 and sims[0][0] == pytest.approx(1.0, abs=1e-5)
    folder = idx.save(tmp_path / "index")
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz", "exemplars.jsonl", "index.faiss", "meta.json"]
    back = ExemplarIndex.load(folder)
    assert len(back) == 300 and back.dim == 16 and back.info.encoder == "test-model"
    assert back.exemplar(17) == ex[17] and back.location == str(folder)
    np.testing.assert_array_equal(back.search(vecs[5], 4)[1], idx.search(vecs[5], 4)[1])
    np.testing.assert_allclose(back.weights, idx.weights)
    # a second save replaces the folder atomically and leaves no temporary folders behind
    back.save(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]


def test_missing_or_incomplete_index_names_the_command(tmp_path):
    with pytest.raises(IndexMissingError, match="mcrag index build"):
        ExemplarIndex.load(tmp_path / "nothing")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "meta.json").write_text("{}")
    with pytest.raises(IndexMissingError, match="mcrag index build"):
        ExemplarIndex.load(tmp_path / "half")


def test_bad_build_inputs():
    with pytest.raises(ValueError, match="non-empty"):
        index_from_vectors(np.zeros((0, 4), np.float32), np.zeros(0), np.zeros(0), [])
    with pytest.raises(ValueError, match="same length"):
        index_from_vectors(_unit(3, 4), np.zeros(2), np.zeros(3), ["a"] * 3)


def test_confounder_weights_remove_the_stratum_finding_association():
    # stratum 0 (portable films) holds 90% of effusions; stratum 1 holds 90% of normals
    rng = np.random.default_rng(0)
    n = 4000
    effusion = rng.random(n) < 0.5
    stratum = np.where(effusion, rng.random(n) < 0.9, rng.random(n) < 0.1).astype(np.int32)
    stratum = 1 - stratum  # 0 = portable
    lb = np.where(effusion, _bits("Effusion"), _bits("normal")).astype(np.uint32)
    kb = np.full(n, _bits("Effusion", "normal"), dtype=np.uint32)
    w = confounder_weights(lb, kb, stratum)
    assert w.mean() == pytest.approx(1.0, abs=1e-5)
    common = w[effusion & (stratum == 0)].mean()
    rare = w[effusion & (stratum == 1)].mean()
    assert rare > 2 * common, "exemplars from an over-represented stratum of their finding are down-weighted"
    # after weighting, the share of portable films is the same among effusions and normals
    p_eff = (w * (stratum == 0) * effusion).sum() / (w * effusion).sum()
    p_norm = (w * (stratum == 0) * ~effusion).sum() / (w * ~effusion).sum()
    raw_gap = abs((stratum[effusion] == 0).mean() - (stratum[~effusion] == 0).mean())
    assert abs(p_eff - p_norm) < 0.25 * raw_gap


def test_unlabelled_exemplars_get_their_own_pseudo_finding():
    lb = np.array([0, 0, 1 << NORMAL, 1 << NORMAL], dtype=np.uint32)
    kb = np.array([0, 0, 1 << NORMAL, 1 << NORMAL], dtype=np.uint32)
    w = confounder_weights(lb, kb, np.array([0, 1, 0, 1], dtype=np.int32))
    np.testing.assert_allclose(w, 1.0)


def test_filtered_search_only_returns_allowed_rows():
    vecs = _unit(500, seed=1)
    lb = np.array([_bits("Effusion") if i % 5 == 0 else 0 for i in range(500)], dtype=np.uint32)
    kb = np.full(500, _bits("Effusion"), dtype=np.uint32)
    idx = index_from_vectors(vecs, lb, kb, ["s"] * 500, hnsw_m=8)
    bitmap = idx.absent_bitmap(LABEL_INDEX["Effusion"])
    _, rows = idx.search_where(vecs[0], 10, bitmap, ef=256)
    assert len(rows[0]) == 10 and all(r % 5 != 0 for r in rows[0])
    assert idx.exemplar(3).id == "row-3" and idx.exemplar(0).findings == ("Effusion",)


def test_stratum_centroids_are_means():
    v = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    c = stratum_centroids(v, np.array([0, 0, 1]))
    np.testing.assert_allclose(c, [[0.5, 0.5], [1, 1]])


def test_nearest_absent_is_exact_over_cases_lacking_the_label_and_bounded_by_the_sample():
    vecs = _unit(3000, seed=2)
    lb = np.array([_bits("Effusion") if i % 2 == 0 else 0 for i in range(3000)], dtype=np.uint32)
    kb = np.array([_bits("Effusion") if i % 3 else 0 for i in range(3000)], dtype=np.uint32)  # every third unknown
    idx = index_from_vectors(vecs, lb, kb, ["s"] * 3000, hnsw_m=8)
    q = vecs[10]
    sims, rows = idx.nearest_absent(q, LABEL_INDEX["Effusion"], k=3)
    allowed = np.array([i for i in range(3000) if i % 2 == 1 and i % 3 != 0])
    best = allowed[np.argsort(-(vecs[allowed] @ q))[:3]]
    np.testing.assert_array_equal(rows, best)
    np.testing.assert_allclose(sims, vecs[best] @ q, rtol=1e-5)
    _, sampled = idx.nearest_absent(q, LABEL_INDEX["Cardiomegaly"], k=5)
    assert len(sampled) == 0, "nothing is annotated for cardiomegaly"
    small = index_from_vectors(vecs, lb, np.full(3000, _bits("Effusion"), np.uint32), ["s"] * 3000, hnsw_m=8)
    _, r2 = small.nearest_absent(q, LABEL_INDEX["Effusion"], k=4, sample=100)
    assert all(r % 2 == 1 for r in r2) and len(small._absent_flat[LABEL_INDEX["Effusion"]][0]) == 100
