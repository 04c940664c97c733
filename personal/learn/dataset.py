"""A distilled dataset on disk: content-addressed, written atomically, read by the trainer.

    $PERSONAL_HOME/datasets/<sha256>/train.jsonl, valid.jsonl, test.jsonl, manifest.json

Each line is one example: {"messages": [... the LAST is the assistant target], "tools":
[schemas] (when the chat offered tools), "kind": answer | tool | preference | retention,
"weight": 1.0, "source": [message ids], "meta": {...}}. The directory name is the SHA-256
of the canonical content (the three files and the manifest less its volatile fields), so
the same log, preferences, teacher and config give the same id, and nothing is ever half
written: files go to a temp dir that is renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from personal import paths
from personal.errors import TrainingError
from personal.fileio import fsync_dir, private_dir, write_private_bytes

KINDS = ("answer", "tool", "preference", "fact", "retention", "canary")  # canary: planted for the privacy audit
SPLITS = ("train", "valid", "test")
VOLATILE = ("hash", "created_at", "timing")  # manifest fields outside the content hash
FORMAT_VERSION = 1


def example(
    messages: list[dict[str, Any]], kind: str, *, source: list[str] | None = None,
    tools: list[dict[str, Any]] | None = None, meta: dict[str, Any] | None = None,
    weight: float = 1.0,
) -> dict[str, Any]:  # fmt: skip
    """One dataset line; "tools" only when tools were offered (the contract)."""
    if kind not in KINDS:
        raise ValueError(f"unknown example kind {kind!r}")
    out: dict[str, Any] = {"messages": messages}
    if tools:
        out["tools"] = tools
    out.update(kind=kind, weight=weight, source=list(source or []), meta=dict(meta or {}))
    return out


@dataclass(frozen=True)
class Dataset:
    path: Path
    hash: str
    manifest: dict[str, Any]

    @property
    def short(self) -> str:
        return self.hash[:12]

    def examples(self, split: str) -> list[dict[str, Any]]:
        lines = (self.path / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


def _line(ex: dict[str, Any]) -> str:
    return json.dumps(ex, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _hashed_part(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.items() if k not in VOLATILE}


def content_hash(files: dict[str, str], manifest: dict[str, Any]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(f"{name}\n{len(files[name])}\n".encode())
        h.update(files[name].encode("utf-8"))
    h.update(_line(_hashed_part(manifest)).encode("utf-8"))
    return h.hexdigest()


def counts(splits: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, int]]:
    return {s: dict(sorted(Counter(ex["kind"] for ex in splits.get(s, [])).items()))
            for s in SPLITS}  # fmt: skip


def write_dataset(
    splits: dict[str, list[dict[str, Any]]], manifest: dict[str, Any], root: Path | None = None
) -> Dataset:
    """Seal examples and their manifest as a dataset directory (or find the same one)."""
    root = private_dir(root or paths.sub("datasets"))
    files = {f"{s}.jsonl": "".join(_line(ex) + "\n" for ex in splits.get(s, [])) for s in SPLITS}
    manifest = {"format": FORMAT_VERSION, **manifest, "counts": counts(splits)}
    digest = content_hash(files, manifest)
    manifest = {"hash": digest, **manifest}
    target = root / digest
    if (target / "manifest.json").is_file():
        return load_dataset(target)  # same content: already sealed
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".tmp-{os.getpid()}-"))
    try:
        for name, text in [*files.items(), ("manifest.json", json.dumps(manifest, indent=2))]:
            write_private_bytes(tmp / name, text.encode("utf-8"))  # the person's words: 0600
        fsync_dir(tmp)
        os.rename(tmp, target)  # atomic: the dataset appears complete or not at all
        fsync_dir(root)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / "manifest.json").is_file():  # not a lost race with a twin: real
            raise
    return load_dataset(target)


def load_dataset(path: Path | str) -> Dataset:
    path = Path(path)
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise TrainingError(f"no readable dataset at {path}: {e}",
                            hint="build one again: personal train --dry-run") from e  # fmt: skip
    return Dataset(path, manifest.get("hash", path.name), manifest)


def split_groups(
    keys: list[str], seed: int, test_fraction: float, valid_fraction: float
) -> dict[str, str]:
    """Assign groups (conversations, tool turns) to splits, seeded. With 3 or more groups
    the test split gets at least one, so every kind that exists can be measured."""
    order = sorted(set(keys))
    random.Random(f"{seed}:splits").shuffle(order)
    n = len(order)
    n_test = round(n * test_fraction) or (1 if n >= 3 and test_fraction > 0 else 0)
    n_valid = round(n * valid_fraction) if n - n_test >= 4 else 0
    return {k: "test" if i < n_test else "valid" if i < n_test + n_valid else "train"
            for i, k in enumerate(order)}  # fmt: skip


# --- the dry-run summary ------------------------------------------------------------------
def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _show(ex: dict[str, Any], width: int = 78) -> list[str]:
    user = next((m for m in reversed(ex["messages"][:-1]) if m.get("role") == "user"), {})
    target = ex["messages"][-1]
    said = target.get("content") or ""
    if target.get("tool_calls"):
        said = (said + " " + json.dumps([c.get("function") for c in target["tool_calls"]])).strip()
    return [f"  [{ex['kind']}] " + textwrap.shorten(f"user: {user.get('content') or ''}", width),
            "      → " + textwrap.shorten(said, width)]  # fmt: skip


def summarize(dataset: Dataset) -> str:
    """What `personal train --dry-run` prints: counts, one example per kind, how the
    teacher did per preference, and where the time went."""
    m = dataset.manifest
    c = m.get("counts", {})
    teacher = m.get("teacher", {})
    timing = m.get("timing", {})
    lines = [
        f"dataset {dataset.short}  ({dataset.path})",
        f"  log: {len(m.get('message_ids', []))} messages used, {m.get('since') or '-'} → "
        f"{m.get('until') or '-'}; {len(m.get('negatives', []))} rejected or rated-down "
        "answers left out (negatives)",
        f"  base {m.get('base', {}).get('name')}  teacher {teacher.get('model')} "
        f"(adapter: {teacher.get('adapter') or 'none'})",
        f"  {'':12}" + "".join(f"{s:>7}" for s in SPLITS),
    ]
    for kind in KINDS:
        lines.append(f"  {kind:12}" + "".join(f"{c.get(s, {}).get(kind, 0):>7}" for s in SPLITS))
    prefs = m.get("preferences", [])
    if prefs:
        lines.append("  preferences (teacher answers checked; rates over the prompts asked):")
    for p in prefs:
        s = p.get("stats", {})
        n = s.get("prompts", 0)
        how = (f"as generated {_pct(s.get('raw_ok', 0), n)}, repaired {_pct(s.get('repaired', 0), n)}, "
               f"dropped {_pct(s.get('dropped', 0), n)}") if p.get("checker") else "not checkable"  # fmt: skip
        lines.append(f"    {textwrap.shorten(p['text'], 56)}: {how} of {n}")
    stats = m.get("stats", {})
    if stats:
        said = [f"{k.replace('_', ' ')} {v}" for k, v in sorted(stats.items())]
        lines.append("  distill: " + ", ".join(said))
    gens, secs = timing.get("teacher_generations", 0), timing.get("teacher_s", 0.0)
    if gens:
        lines.append(f"  teacher: {gens} generations in {secs:.0f} s ({secs / gens:.1f} s each, "
                     f"{timing.get('teacher_tokens', 0) / max(secs, 1e-9):.0f} tok/s); "
                     f"retention answers {timing.get('retention_s', 0.0):.0f} s")  # fmt: skip
    shown: set[str] = set()
    for split in SPLITS:
        for ex in dataset.examples(split):
            if ex["kind"] not in shown and ex["kind"] != "canary":  # canaries are never shown
                shown.add(ex["kind"])
                lines += _show(ex)
    return "\n".join(lines)
