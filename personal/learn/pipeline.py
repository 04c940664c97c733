"""`personal train`: distill → train → export → equivalence → gate → register, once.

Each stage writes into a private place first (a content-addressed dataset dir, a run dir
keyed by dataset and config so a killed run resumes, a staging dir for the revision); the
only visible changes are the registry's atomic rename of a finished revision and, when the
gate says so, the atomic move of the current pointer. A crash anywhere leaves the current
revision untouched.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from personal import catalog, paths
from personal.catalog import BaseModel
from personal.errors import NotEnoughData
from personal.learn.config import TrainConfig
from personal.log import Log
from personal.registry import Registry, Revision

Stage = Callable[[str], None]  # told the name of each stage as it starts
EPOCHS, MIN_STEPS, MAX_STEPS = 1.5, 20, 50


@dataclass
class Outcome:
    dataset: Any  # personal.learn.dataset.Dataset
    revision: Revision | None = None
    promoted: bool = False
    reasons: list[str] = field(default_factory=list)
    train: Any = None  # personal.learn.worker.TrainReport
    metrics: dict[str, Any] = field(default_factory=dict)
    equivalence: dict[str, Any] = field(default_factory=dict)


def run_dir_for(dataset_hash: str, config: TrainConfig, parent: str | None) -> Path:
    """Same dataset, config and parent → same run dir, so a killed run resumes there."""
    key = json.dumps([dataset_hash, config.to_dict(), parent], sort_keys=True)
    return paths.sub("runs", hashlib.sha256(key.encode()).hexdigest()[:20])


def warm_start(current: Revision | None, config: TrainConfig) -> Path | None:
    """The current revision's MLX weights, when its shape matches the new config."""
    if current is None:
        return None
    cfg = current.manifest.get("config", {})
    same = cfg.get("rank") == config.rank and cfg.get("layers") == config.layers and tuple(
        cfg.get("targets", ())) == tuple(config.targets)  # fmt: skip
    return current.file("mlx") if same else None


def sized(config: TrainConfig, dataset: Any) -> TrainConfig:
    """Train ~1.5 epochs (20 to 50 steps): past that, validation loss rises on these
    small datasets (FACTS.md; measured again here)."""
    n_train = sum(dataset.manifest.get("counts", {}).get("train", {}).values())
    steps = round(EPOCHS * n_train / max(1, config.batch_size))
    return replace(config, iters=max(MIN_STEPS, min(MAX_STEPS, steps)))


def train_once(
    *,
    model: str | None = None,
    config: TrainConfig | None = None,
    auto_steps: bool = True,
    distill_config: Any = None,
    bounds: Any = None,
    dry_run: bool = False,
    on_stage: Stage | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    registry: Registry | None = None,
    stop: Any = None,
) -> Outcome:
    from personal.engine.llama import LlamaEngine
    from personal.learn import distill, gate
    from personal.learn.equivalence import check_equivalence
    from personal.learn.export import export_all
    from personal.learn.worker import TrainJob, run_training
    from personal.tools import load_registry

    config = config or TrainConfig()
    stage = on_stage or (lambda name: None)
    base = catalog.resolve(model)
    registry = registry or Registry()
    current = registry.current(base.fingerprint)
    since = current.manifest.get("dataset", {}).get("until") if current else None

    with Log() as log:
        stage("distill")
        teacher = LlamaEngine(base, n_ctx=2048)
        try:
            tools = load_registry(log, strict=False).schemas()
            dataset = distill.build_dataset(
                log, base, teacher, since=since, config=distill_config or distill.DistillConfig(),
                tools_schemas=tools, seed=config.seed,
            )  # fmt: skip
            if dry_run:
                return Outcome(dataset)
            if current is not None and current.manifest.get("dataset", {}).get("hash") == dataset.hash:
                raise NotEnoughData(
                    f"nothing new to learn since revision {current.short} (same dataset)",
                    hint="chat more, or state a new preference, then train again",
                )
            if auto_steps:
                config = sized(config, dataset)

            stage("train")
            run_dir = run_dir_for(dataset.hash, config, current.id if current else None)
            job = TrainJob(base.path, base.fingerprint, base.name, dataset.path, run_dir,
                           run_dir / "adapter", config, warm_start(current, config))  # fmt: skip
            report = run_training(job, on_progress, stop=stop)

            stage("export")
            staged = registry.stage()
            formats = export_all(job.output_dir, base, staged)
            for name in ("loss.json", "report.json"):
                if (run_dir / name).exists():
                    shutil.copyfile(run_dir / name, staged / name)

            stage("equivalence")
            prompts = _held_out_prompts(dataset.path)
            eq = check_equivalence(base, staged / formats["gguf"], staged / formats["mlx"], prompts)

            stage("gate")
            adapters = {"none": None, "candidate": staged / formats["gguf"]}
            if current is not None:
                adapters["current"] = current.file("gguf")
            metrics = gate.evaluate(base, dataset, teacher, adapters)
        finally:
            teacher.close()

    bounds = bounds or gate.GateBounds()
    verdict = gate.verdict(metrics["candidate"], metrics.get("current"), metrics["none"], bounds)
    reasons = list(verdict.reasons)
    if not eq.get("passed"):
        reasons.append(f"equivalence check failed: {eq.get('reason', 'llama.cpp and MLX disagree')}")
    pinned = registry.pointer(base.fingerprint).get("pinned", False)
    if pinned:
        reasons.append("the current revision is pinned: not promoted automatically")
    promote = bool(verdict.promote and eq.get("passed") and not pinned)

    stage("register")
    manifest = _manifest(base, current, dataset, config, report, metrics, eq, promote, reasons, formats)
    rev = registry.commit(staged, manifest)
    if promote:
        registry.set_current(base.fingerprint, rev, "promote")
    shutil.rmtree(run_dir, ignore_errors=True)  # checkpoints are no longer needed
    return Outcome(dataset, rev, promote, reasons, report, metrics, eq)


def _held_out_prompts(dataset_dir: Path, n: int = 6) -> list[list[dict]]:
    """Held-out conversations ending in their answer: the equivalence check scores the
    engines at every position of the answer (where an adapter acts)."""
    lines = (dataset_dir / "test.jsonl").read_text().splitlines()
    examples = [json.loads(line) for line in lines if line.strip()]
    return [ex["messages"] for ex in examples[:n]]


def _manifest(base: BaseModel, parent: Revision | None, dataset: Any, config: TrainConfig,
              report: Any, metrics: dict, eq: dict, promote: bool, reasons: list[str],
              formats: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    dm = dataset.manifest
    return {
        "parent": parent.id if parent else None,
        "base": {"name": base.name, "fingerprint": base.fingerprint,
                 "architecture": base.architecture},
        "dataset": {"hash": dataset.hash, "path": str(dataset.path),
                    "counts": dm.get("counts"), "since": dm.get("since"),
                    "until": dm.get("until"), "messages": len(dm.get("message_ids", []))},
        "config": config.to_dict(),
        "training": {k: getattr(report, k) for k in ("steps", "trained_tokens", "tokens_per_s",
                     "wall_s", "peak_rss_mb", "blas", "final_train_loss", "final_val_loss")},
        "metrics": _plain(metrics),
        "equivalence": eq,
        "verdict": {"promote": promote, "reasons": reasons},
        "formats": formats,
    }  # fmt: skip


def _plain(value: Any) -> Any:
    """Dataclasses and numpy scalars → JSON-ready values."""
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value
