"""Which data `personal adapters eval` measures a revision on.

A trained revision is measured on the held-out split of its own dataset. An imported one
has none: it is measured on the person's data as the adapters serving them learned it —
the current revision's dataset, else the newest dataset of a revision of this base that
still exists (forget deletes datasets) — and, when there is none, on a dataset distilled
from the log now (what `personal train --dry-run` builds). The choice is said out loud.
"""

from __future__ import annotations

from collections.abc import Callable

from personal.adapters.registry import Registry, Revision
from personal.errors import TrainingError
from personal.learn.dataset import Dataset, load_dataset


def eval_dataset(registry: Registry, base_fingerprint: str, rev: Revision,
                 distill: Callable[[], Dataset]) -> tuple[Dataset, str]:  # fmt: skip
    """(the dataset, where it came from in words)."""
    own = _readable(rev)
    if own is not None:
        return own, f"its own dataset {own.short}"
    current = registry.current(base_fingerprint)
    if current is not None and current.id != rev.id and (found := _readable(current)):
        return found, f"the dataset of the current revision {current.short} ({found.short})"
    for other in registry.list(base_fingerprint):  # newest first
        if other.id != rev.id and (found := _readable(other)):
            return found, f"the dataset of revision {other.short} ({found.short})"
    fresh = distill()
    return fresh, f"a dataset distilled from the log now ({fresh.short})"


def _readable(rev: Revision) -> Dataset | None:
    path = rev.manifest.dataset.path
    if not path:
        return None
    try:
        return load_dataset(path)
    except TrainingError:  # deleted (forgotten) or damaged
        return None
