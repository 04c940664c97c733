"""The equivalence check's bounds on figures of known shape (no engines): what passes and
what fails, position by position."""

from __future__ import annotations

from personal.learn.judge.equivalence import summarize


def row(kl: float, base_kl: float, effect: float = 0.3, **over: float) -> dict[str, float]:
    return {"kl": kl, "base_kl": base_kl, "top1": 1.0, "clear_miss": 0.0, "corr": 0.999,
            "effect_llama": effect, "effect_mlx": effect, "delta_corr": 0.99, **over}  # fmt: skip


def test_a_position_the_base_already_disagrees_on_may_disagree_more():
    rows = [row(0.002, 0.001)] * 60 + [row(0.063, 0.022)]  # measured on a persona adapter
    result = summarize(rows, n_prompts=6)
    assert result["passed"], result["reasons"]
    assert result["kl_max"] == 0.063 and abs(result["kl_excess_max"] - 0.019) < 1e-9


def test_a_position_where_only_the_adapter_disagrees_fails():
    result = summarize([row(0.002, 0.001)] * 60 + [row(0.063, 0.001)], n_prompts=6)
    assert not result["passed"]
    assert "exceeds 2x the base's own gap by 0.0610 > 0.05" in result["reason"]


def test_a_wrong_export_fails_on_every_count():
    rows = [row(1.2, 0.003, effect=1.7, effect_llama=0.4, delta_corr=0.2, top1=0.0,
                clear_miss=1.0)] * 30  # fmt: skip
    reasons = summarize(rows, n_prompts=6)["reasons"]
    assert any(r.startswith("top-1 differs") for r in reasons)
    assert any(r.startswith("median KL") for r in reasons)
    assert any("exceeds" in r for r in reasons) and any("0.24x its effect" in r for r in reasons)


def test_an_adapter_too_weak_to_verify_is_not_passed():
    result = summarize([row(0.0001, 0.0001, effect=1e-4)] * 30, n_prompts=6)
    assert not result["passed"] and "too weak to verify" in result["reason"]
