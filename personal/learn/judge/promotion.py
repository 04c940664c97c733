"""The promotion decision: the gate's verdict, the engines' agreement, and the pin."""

from __future__ import annotations

from dataclasses import dataclass

from personal.adapters.manifest import Equivalence, Verdict
from personal.learn.judge.gate import Verdict as GateVerdict


@dataclass(frozen=True)
class Decision:
    promote: bool
    reasons: tuple[str, ...]

    def verdict(self) -> Verdict:
        return Verdict(self.promote, self.reasons)


def decide(gate: GateVerdict, equivalence: Equivalence | None, pinned: bool) -> Decision:
    """Promote only when the gate says the candidate helps and breaks nothing, llama.cpp
    runs the exported adapter as MLX trained it, and the person has not pinned the
    current revision. Every reason against is said."""
    reasons = list(gate.reasons)
    if equivalence is None:
        equivalence = Equivalence(False, ("not checked",))
    if not equivalence.passed:
        why = "; ".join(equivalence.reasons) or "llama.cpp and MLX disagree"
        reasons.append(f"equivalence check failed: {why}")
    if pinned:
        reasons.append("the current revision is pinned: not promoted automatically")
    return Decision(bool(gate.promote and equivalence.passed and not pinned), tuple(reasons))
