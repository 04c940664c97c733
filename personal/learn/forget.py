"""`personal log forget`: the conversation, and everything derived from it.

The log deletes the messages and what it derived itself (notes, preferences, search
entries) and purges the old pages from disk (`personal.log.erase`). Outside the log, the
learning loop made plain-text copies and trained on them:

- distilled datasets (datasets/<hash>/*.jsonl) whose manifest lists a forgotten message
  are deleted, with the training runs (checkpoints) made from them;
- the teacher's generation cache (cache/generations.db) is deleted whole: its answers to
  prompts taken from the log may quote what was forgotten, and it is only a cache;
- adapter revisions trained on such a dataset, and every revision warm-started from one,
  are marked in the registry (`Registry.forgotten`): their weights may still carry what
  was said. They are not deleted (one may be current); the person is told, and
  `personal train --from-scratch` trains a replacement without warm start. Training
  never warm-starts from a marked revision.

The ids of forgotten messages (random ids, no text) are kept in datasets/forgotten.json,
so a dataset written by a training run that was already distilling when the person
forgot is caught when that run tries to register (`check_dataset`).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from personal import paths
from personal.adapters.registry import Registry
from personal.errors import TrainingError
from personal.fileio import write_json_atomic
from personal.learn.dataset import Dataset
from personal.log import Log
from personal.log.erase import Erased, erase


@dataclass
class ForgetReport:
    erased: Erased
    datasets: list[str] = field(default_factory=list)  # hashes of the datasets deleted
    runs: int = 0  # training run directories (checkpoints) deleted
    cache: bool = False  # the generation cache was deleted
    revisions: list[str] = field(default_factory=list)  # revision ids newly marked
    current: list[str] = field(default_factory=list)  # marked revisions that are current


def forget(log: Log, conversation_id: str | None, *, registry: Registry | None = None,
           datasets: Path | None = None) -> ForgetReport:  # fmt: skip
    """Forget one conversation (None: all of them) everywhere it went."""
    erased = erase(log, conversation_id)
    root = datasets or paths.sub("datasets")
    _remember_ids(root, erased.message_ids)
    report = ForgetReport(erased)
    report.datasets, report.runs = sweep(root)
    report.cache = drop_cache()
    registry = registry or Registry()
    gone = set(_forgotten_record(root)["datasets"])
    trained_on = [r.id for r in registry.list() if r.manifest.dataset.hash in gone]
    what = "all conversations" if conversation_id is None else f"conversation {conversation_id}"
    report.revisions = registry.mark_forgotten(trained_on, f"trained on {what}, since forgotten")
    marks = registry.forgotten()
    for pointer in registry.pointers.glob("*.json"):
        rev_id = registry.pointer(pointer.stem).get("revision")
        if rev_id in marks:
            report.current.append(rev_id)
    return report


def sweep(root: Path) -> tuple[list[str], int]:
    """Delete every dataset holding a forgotten message, and the training runs made from
    them; returns (dataset hashes, number of runs)."""
    forgotten = set(_forgotten_record(root)["messages"])
    deleted = []
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if not d.is_dir():
            continue
        if d.name.startswith(".tmp-"):  # a dataset being written: debris, or in progress
            pid = d.name.split("-")[1] if d.name.count("-") >= 2 else ""
            if not pid.isdigit() or not _alive(int(pid)):
                shutil.rmtree(d, ignore_errors=True)
            continue
        ids = _message_ids(d)
        if ids is None or ids & forgotten:  # unreadable: it cannot be shown clean
            shutil.rmtree(d, ignore_errors=True)
            deleted.append(d.name)
    if deleted:
        record = _forgotten_record(root)
        record["datasets"] = sorted(set(record["datasets"]) | set(deleted))
        write_json_atomic(root / "forgotten.json", record)
    return deleted, _sweep_runs(root)


def drop_cache() -> bool:
    """Delete the generation cache and its WAL files (a later run builds it again)."""
    from personal.learn.cache import cache_path

    found = False
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{cache_path()}{suffix}")
        if path.exists():
            path.unlink()
            found = True
    return found


def check_dataset(dataset: Dataset) -> None:
    """Before a revision is registered: if the person forgot some of its messages while
    it trained, delete the dataset and refuse (TrainingError)."""
    root = dataset.path.parent
    forgotten = set(_forgotten_record(root)["messages"])
    if forgotten & sources(dataset.manifest):
        sweep(root)
        raise TrainingError(
            "some messages this run trained on were forgotten while it ran; its dataset was "
            "deleted and nothing was registered",
            hint="run `personal train` again: it distills the log as it is now",
        )


def _sweep_runs(root: Path) -> int:
    """Training runs whose dataset is gone hold checkpoints trained on it: delete them."""
    runs = paths.home() / "runs"
    n = 0
    for run in sorted(runs.iterdir()) if runs.is_dir() else []:
        try:
            dataset_dir = Path(json.loads((run / "job.json").read_text())["dataset_dir"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a run without a job file never trained
        if dataset_dir.parent == root and not dataset_dir.exists():
            shutil.rmtree(run, ignore_errors=True)
            n += 1
    return n


def sources(manifest: dict) -> set[str]:
    """Every log message a dataset drew on: its examples' and its preferences' sources."""
    prefs = manifest.get("preferences") or []
    return {str(i) for i in manifest.get("message_ids") or []} | {
        str(p["source_message_id"]) for p in prefs
        if isinstance(p, dict) and p.get("source_message_id")}  # fmt: skip


def _message_ids(dataset_dir: Path) -> set[str] | None:
    try:
        return sources(json.loads((dataset_dir / "manifest.json").read_text(encoding="utf-8")))
    except FileNotFoundError:
        return set() if not any(dataset_dir.glob("*.jsonl")) else None
    except (OSError, ValueError, AttributeError):
        return None


def _forgotten_record(root: Path) -> dict[str, list[str]]:
    try:
        data = json.loads((root / "forgotten.json").read_text())
    except (OSError, ValueError):
        data = {}
    data = data if isinstance(data, dict) else {}
    return {k: [str(x) for x in data.get(k) or [] if isinstance(x, str)]
            for k in ("messages", "datasets")}  # fmt: skip


def _remember_ids(root: Path, ids: tuple[str, ...]) -> None:
    if not ids:
        return
    record = _forgotten_record(root)
    record["messages"] = sorted(set(record["messages"]) | set(ids))
    root.mkdir(parents=True, exist_ok=True)
    write_json_atomic(root / "forgotten.json", record)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
