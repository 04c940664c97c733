"""A revision's loss curve (its `loss.json`: training loss per step, validation loss at
the steps it was measured), read and drawn as text for a terminal (plotext)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

LOSS_FILE = "loss.json"


@dataclass(frozen=True)
class LossCurve:
    train: list[tuple[int, float]]
    val: list[tuple[int, float]]

    def to_dict(self) -> dict[str, list[list[float]]]:
        return {"train": [list(p) for p in self.train], "val": [list(p) for p in self.val]}


def read_curve(revision_dir: Path) -> LossCurve | None:
    """The curve a revision recorded, or None (imported revisions have none; a damaged
    file is treated as missing: the curve is an illustration, not a record to trust)."""
    path = Path(revision_dir) / LOSS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LossCurve(_points(data.get("train")), _points(data.get("val")))
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _points(raw: object) -> list[tuple[int, float]]:
    points = []
    for item in raw if isinstance(raw, list) else []:
        if (isinstance(item, list) and len(item) == 2 and isinstance(item[0], int)
                and isinstance(item[1], (int, float)) and math.isfinite(item[1])):  # fmt: skip
            points.append((item[0], float(item[1])))
    return points


def draw(curve: LossCurve, width: int = 72, height: int = 16, color: bool = False) -> str:
    """The curve as a text plot: training loss as a line, validation loss as points."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(max(width, 30), max(height, 8))
    plt.theme("clear")
    if curve.train:
        steps, losses = zip(*curve.train, strict=True)
        plt.plot(list(steps), list(losses), label="train", marker="braille")
    if curve.val:
        steps, losses = zip(*curve.val, strict=True)
        plt.scatter(list(steps), list(losses), label="validation", marker="●")
    plt.xlabel("step")
    plt.title("loss")
    text = plt.build()
    plt.clear_figure()
    return text if color else plt.uncolorize(text)


__all__ = ["LOSS_FILE", "LossCurve", "draw", "read_curve"]
