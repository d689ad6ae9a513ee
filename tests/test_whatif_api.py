"""reasoning.whatif: do() effects and single-case counterfactuals, against models with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kg.claims import ClaimRecord
from reasoning.whatif import WhatIfError, case_from_table, counterfactual, intervene, whatif_model

C = "https://w3id.org/mcrag/concept/"


def _edges(*pairs: str, status: str = "validated") -> list[ClaimRecord]:
    out = []
    for i, pair in enumerate(pairs):
        s, o = pair.split(">")
        out.append(ClaimRecord(f"https://w3id.org/mcrag/id/claim/{i:04d}", "g", C + s, C + o, "causes", "positive",
                             status, 1, s.replace("_", " "), o.replace("_", " ")))
    return out


def _binary_chain(n: int = 20000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = (rng.random(n) < 0.5).astype(float)
    b = (rng.random(n) < np.where(a == 1, 0.9, 0.1)).astype(float)
    c = (rng.random(n) < np.where(b == 1, 0.8, 0.2)).astype(float)
    return pd.DataFrame({"report_id": [f"r{i}" for i in range(n)], "a": a, "b": b, "c": c})


def test_intervene_recovers_a_confounded_linear_effect() -> None:
    rng = np.random.default_rng(1)
    n = 5000
    z = rng.standard_normal(n)
    x = z + rng.standard_normal(n)
    m = 0.5 * x + rng.standard_normal(n)
    y = 0.8 * m + 1.5 * z + rng.standard_normal(n)  # total effect of x on y: 0.4
    model = whatif_model(_edges("z>x", "z>y", "x>m", "m>y"), pd.DataFrame({"x": x, "y": y, "z": z, "m": m}))
    r = intervene(model, "x", "y", value=2.0, control=0.0)
    assert r.identified and r.estimand.startswith("backdoor") and "z" in r.estimand
    assert abs(r.effect - 0.8) < 0.1 and r.ci_low < 0.8 < r.ci_high  # two units of x
    assert abs((r.expected - r.expected_control) - r.effect) < 1e-9


def test_intervene_on_binary_data_and_without_a_causal_path() -> None:
    model = whatif_model(_edges("a>b", "b>c"), _binary_chain())
    r = intervene(model, "a", "c")
    assert abs(r.effect - 0.8 * 0.6) < 0.03  # 0.8 change in b times 0.6 change in c
    assert 0 <= r.expected_control < r.expected <= 1
    back = intervene(model, "c", "a")
    assert back.effect == 0.0 and "no causal path" in back.reason


def test_untrusted_edges_are_not_used() -> None:
    model = whatif_model(_edges("a>b", status="proposed"), _binary_chain(2000))
    assert intervene(model, "a", "b").effect == 0.0


def test_counterfactual_binary_follows_the_monotone_coupling() -> None:
    model = whatif_model(_edges("a>b", "b>c"), _binary_chain())
    r = counterfactual(model, {"a": 1, "b": 1, "c": 1}, {"a": 0}, draws=20000)
    b = r.outcome("b")
    assert b.factual == 1.0 and abs(b.counterfactual - 0.1 / 0.9) < 0.03  # P(B_a=0 = 1 | A=1, B=1) = p0 / p1
    assert abs(b.probability_changed - (1 - 0.1 / 0.9)) < 0.03
    c = r.outcome("c")
    assert c.counterfactual < 1.0 and c.change is not None and c.change < 0
    absent = counterfactual(model, {"a": 1, "b": 0}, {"a": 0}, outcomes=["b"], draws=5000).outcome("b")
    assert absent.counterfactual == 0.0  # b was absent with a present; removing a cannot make it appear


def test_counterfactual_linear_abducts_the_noise_exactly() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal(4000)
    y = 2.0 * x + rng.standard_normal(4000)
    model = whatif_model(_edges("x>y"), pd.DataFrame({"x": x, "y": y}))
    r = counterfactual(model, {"x": 1.0, "y": 3.0}, {"x": 0.0}, draws=10)
    assert abs(r.outcome("y").counterfactual - 1.0) < 0.1  # the case's own noise (+1) is kept


def test_names_resolve_and_bad_questions_are_clear_errors() -> None:
    data = _binary_chain(500)
    model = whatif_model(_edges("a>b", "b>c"), data)
    assert model.resolve(C + "b") == "b"
    case = case_from_table(model, data, "r3")
    assert set(case) >= {"a", "b", "c"}
    with pytest.raises(WhatIfError, match="unknown variable"):
        intervene(model, "zz", "b")
    with pytest.raises(WhatIfError, match="no row with id"):
        case_from_table(model, data, "nope")
    with pytest.raises(WhatIfError, match="at least one"):
        counterfactual(model, case, {})
    latent = whatif_model(_edges("u>b", "a>b"), data)
    with pytest.raises(WhatIfError, match="no usable data column"):
        intervene(latent, "u", "b")
    with pytest.raises(WhatIfError, match="no counterfactual value"):
        counterfactual(latent, {"a": 1}, {"a": 0}, outcomes=["u"])


def test_no_effect_is_reported_from_cells_below_the_minimum_support() -> None:
    """Emphysema and pneumothorax never seen together: no confident effect from zero co-occurrences."""
    rng = np.random.default_rng(3)
    n = 3000
    emph = (rng.random(n) < 0.05).astype(float)
    ptx = np.where(emph == 1, 0.0, (rng.random(n) < 0.01).astype(float))
    model = whatif_model(_edges("emphysema>pneumothorax", status="accepted"),
                         pd.DataFrame({"emphysema": emph, "pneumothorax": ptx}))
    r = intervene(model, "emphysema", "pneumothorax")
    assert not r.estimable and r.effect is None and r.ci_low is None
    assert "0 studies with both" in r.reason and "minimum support" in r.reason
    chain = intervene(whatif_model(_edges("a>b", "b>c"), _binary_chain()), "a", "c")
    assert chain.estimable and chain.effect is not None
