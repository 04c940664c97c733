"""`personal train`: distill → train → export → equivalence → gate → register, once.

Each stage writes into a private place first (a content-addressed dataset dir, a run dir
keyed by dataset and config so a killed run resumes, a staging dir for the revision); the
only visible changes are the registry's atomic rename of a finished revision and, when the
promotion decision says so, the atomic move of the current pointer. A crash anywhere leaves
the current revision untouched.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from personal import paths
from personal.adapters.identity import base_identity
from personal.adapters.manifest import DatasetRef, Equivalence, Manifest, Metrics, Training
from personal.adapters.registry import Registry, Revision
from personal.errors import NotEnoughData
from personal.learn.cache import GenerationCache
from personal.learn.config import TrainConfig
from personal.learn.lock import TrainingLock
from personal.learn.objectives import Objective, withdrawn_since
from personal.learn.privacy import audit_dataset
from personal.log import Log
from personal.models import catalog

if TYPE_CHECKING:
    from personal.engine.base import Engine
    from personal.learn.dataset import Dataset
    from personal.learn.distill.build import DistillConfig
    from personal.learn.judge.gate import GateBounds, Report, Verdict
    from personal.learn.train.events import Event, TrainReport
    from personal.models.catalog import BaseModel

Stage = Callable[[str], None]  # told the name of each stage as it starts
EPOCHS, MIN_STEPS, MAX_STEPS = 1.5, 20, 50
STAGES = ("distill", "train", "export", "equivalence", "gate", "register")


@dataclass
class Outcome:
    dataset: Dataset
    revision: Revision | None = None
    promoted: bool = False
    reasons: list[str] = field(default_factory=list)
    train: TrainReport | None = None
    metrics: dict[str, Metrics] = field(default_factory=dict)
    equivalence: Equivalence | None = None


def run_dir_for(dataset_hash: str, config: TrainConfig, parent: str | None) -> Path:
    """Same dataset, config and parent → same run dir, so a killed run resumes there."""
    key = json.dumps([dataset_hash, config.to_dict(), parent], sort_keys=True)
    return paths.sub("runs", hashlib.sha256(key.encode()).hexdigest()[:20])


def warm_start(current: Revision | None, config: TrainConfig) -> Path | None:
    """The current revision's MLX weights, when its shape matches the new config (None
    for a revision marked as trained on forgotten data: see `start_from`)."""
    if current is None:
        return None
    cfg = current.manifest.config
    same = cfg.get("rank") == config.rank and cfg.get("layers") == config.layers and tuple(
        cfg.get("targets", ())) == tuple(config.targets)  # fmt: skip
    return current.file("mlx") if same else None


def sized(config: TrainConfig, dataset: Dataset) -> TrainConfig:
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
    distill_config: DistillConfig | None = None,
    bounds: GateBounds | None = None,
    dry_run: bool = False,
    on_stage: Stage | None = None,
    on_progress: Callable[[Event], None] | None = None,
    registry: Registry | None = None,
    stop: threading.Event | None = None,
    from_scratch: bool = False,
    lock: TrainingLock | None = None,
) -> Outcome:
    """Run the learning loop once for `model`'s base (see the module docstring).

    `from_scratch`: distill the whole log and train without warm start (the parent is
    None), e.g. to replace a revision trained on messages since forgotten; it is implied
    when the current revision is marked so. A real run holds the training lock (`lock`,
    when the caller already holds it, else one taken here); a dry run only distills."""
    from personal.engine.load import open_engine
    from personal.learn.forget import check_dataset

    config = config or TrainConfig()
    stage = on_stage or (lambda name: None)
    base = catalog.resolve(model)
    registry = registry or Registry()
    with _locked(lock, dry_run):  # one run at a time: LockBusy if another trains
        current = registry.current(base.fingerprint)  # read under the lock
        origin = start_from(registry, current, from_scratch)  # None: the whole log, afresh
        with Log() as log:
            stage("distill")
            from personal.prefs import derive_checks

            derive_checks(log)  # an unchecked preference the kept answers show how to check
            withdrawn = _withdrawn(log, current)
            teacher = open_engine(base, backend="llama.cpp", n_ctx=2048)
            cache = GenerationCache()
            try:
                tools = _tools(log)
                dataset = _distill(log, base, teacher, origin, distill_config, config.seed,
                                   tools, withdrawn, cache)  # fmt: skip
                if dry_run:
                    return Outcome(dataset)
                config = sized(config, dataset) if auto_steps else config
                stage("train")
                # unlearning what the current revision learned starts afresh, not from it
                warm = origin if origin is None or not _unlearns(origin, withdrawn) else None
                run_dir = run_dir_for(dataset.hash, config, origin.id if origin else None)
                adapter, report = _train(base, dataset, run_dir, config, warm, on_progress,
                                         stop)  # fmt: skip
                stage("export")
                staged, formats = _export(registry, adapter, base, run_dir)
                stage("equivalence")
                eq = _equivalence(base, staged, formats, dataset)
                stage("gate")
                gate_report, gate_verdict = _gate(dataset, teacher, staged / formats["gguf"],
                                                  current, bounds, tools, cache)  # fmt: skip
                gentler = [s for s in (bounds or _bounds()).gentler_scales if 0 < s < 1]
                for gentle in gentler if gate_verdict.retention_only else ():
                    # held back by retention alone: the same adapter, scaled down
                    tried, why = _gentler(registry, adapter, base, run_dir, gentle, dataset,
                                          teacher, current, bounds, tools, cache, gate_report)  # fmt: skip
                    if tried is not None:
                        shutil.rmtree(staged, ignore_errors=True)
                        staged, formats, eq, gate_report, gate_verdict = tried
                        config = replace(config, scale=config.scale * gentle)
                        break
                    gate_verdict.reasons.append(f"at {gentle:g}× its LoRA scale: {why}")
                    if why.startswith("not only retention"):
                        break  # something else got worse: a gentler one will not help
                cache.prune()  # what this run did not use goes (old preferences' answers too)
                audit = audit_dataset(teacher, staged / formats["gguf"], dataset)
            finally:
                cache.close()
                teacher.close()

        from personal.learn.judge.promotion import decide

        decision = decide(gate_verdict, eq, registry.pointer(base.fingerprint).get("pinned", False))
        stage("register")
        check_dataset(dataset)  # messages forgotten while it trained: nothing is registered
        metrics = gate_report.metrics
        manifest = Manifest(
            base=base_identity(base), parent=origin.id if origin else None,
            dataset=_dataset_ref(dataset), config=config.to_dict(), training=_training(report),
            metrics=metrics, equivalence=eq, verdict=decision.verdict(), formats=formats,
            objectives={o.id: {"kind": o.kind, "text": o.text, "checker": o.checker}
                        for o in gate_report.objectives},
            plan=gate_verdict.plan,
            audit=audit,  # stored with the revision; `personal sync push` checks it
        )  # fmt: skip
        rev = registry.commit(staged, manifest)
        promoted, reasons = decision.promote, list(decision.reasons)
        if promoted and not registry.promote(base.fingerprint, rev):  # pin re-checked inside
            promoted = False
            reasons.append("pinned while it trained: kept as a candidate, not promoted")
        shutil.rmtree(run_dir, ignore_errors=True)  # checkpoints are no longer needed
        return Outcome(dataset, rev, promoted, reasons, report, metrics, eq)


def _locked(lock: TrainingLock | None, dry_run: bool) -> AbstractContextManager[object]:
    if dry_run or (lock is not None and lock.held):
        return nullcontext()
    return TrainingLock("personal train")


def start_from(registry: Registry, current: Revision | None, from_scratch: bool) -> Revision | None:
    """The revision a run builds on (its data window, its parent, its warm start): the
    current one, unless asked to start from scratch or it was trained on messages since
    forgotten."""
    if from_scratch or current is None or current.id in registry.forgotten():
        return None
    return current


# --- the stages ---------------------------------------------------------------------------
def _unlearns(current: Revision, withdrawn: list[Objective]) -> bool:
    return any(current.manifest.plan.get(o.id) == "adapter" for o in withdrawn)


def _tools(log: Log) -> list[dict[str, Any]]:
    from personal.tools import load_registry

    return load_registry(log, strict=False).schemas()


def _withdrawn(log: Log, current: Revision | None) -> list[Objective]:
    """What the person has taken back: switched-off preferences with a checker (withdrawn,
    replaced, or turned off by hand), and what the current revision learned that is no
    longer active (even if deleted since). Answers following them are not trained on, and
    the gate checks they are gone."""
    from personal.prefs import Preferences

    prefs = Preferences(log).list()
    active = {p.id for p in prefs if p.active}
    live = [p.checker for p in prefs if p.active]
    out = {o.id: o for o in withdrawn_since(current.manifest.objectives, current.manifest.plan,
                                            active)} if current else {}  # fmt: skip
    for p in prefs:
        if (not p.active and p.checker and p.kind != "withdraw" and p.confirmed
                and p.checker not in live):  # fmt: skip
            out.setdefault(p.id, Objective(p.id, "withdrawn", p.text, dict(p.checker)))
    return list(out.values())


def _distill(log: Log, base: BaseModel, teacher: Engine, current: Revision | None,
             config: DistillConfig | None, seed: int, tools: list[dict[str, Any]],
             withdrawn: list[Objective], cache: GenerationCache) -> Dataset:  # fmt: skip
    from personal.learn.distill import build

    since = current.manifest.dataset.until if current else None
    dataset = build.build_dataset(log, base, teacher, since=since,
                                  config=config or build.DistillConfig(), tools_schemas=tools,
                                  seed=seed, withdrawn=withdrawn, cache=cache)  # fmt: skip
    if current is not None and current.manifest.dataset.hash == dataset.hash:
        raise NotEnoughData(
            f"nothing new to learn since revision {current.short} (same dataset)",
            hint="chat more, or state a new preference, then train again",
        )
    return dataset


def _train(base: BaseModel, dataset: Dataset, run_dir: Path, config: TrainConfig,
           current: Revision | None, on_progress: Callable[[Event], None] | None,
           stop: threading.Event | None) -> tuple[Path, TrainReport]:  # fmt: skip
    from personal.learn.train.worker import TrainJob, run_training

    job = TrainJob(base.path, base.fingerprint, base.name, dataset.path, run_dir,
                   run_dir / "adapter", config, warm_start(current, config))  # fmt: skip
    return job.output_dir, run_training(job, on_progress, stop=stop)


def _export(registry: Registry, adapter: Path, base: BaseModel,
            run_dir: Path) -> tuple[Path, dict[str, str]]:  # fmt: skip
    from personal.adapters.formats import export_all

    staged = registry.stage()
    formats = export_all(adapter, base, staged)
    for name in ("loss.json", "report.json"):  # the curve, and the run's figures
        if (run_dir / name).exists():
            shutil.copyfile(run_dir / name, staged / name)
    return staged, formats


def _equivalence(base: BaseModel, staged: Path, formats: dict[str, str],
                 dataset: Dataset) -> Equivalence:  # fmt: skip
    from personal.learn.judge.equivalence import as_equivalence, check_equivalence

    prompts = [ex["messages"] for ex in dataset.examples("test")[:6]]
    result = check_equivalence(base, staged / formats["gguf"], staged / formats["mlx"], prompts)
    return as_equivalence(result)


def _bounds() -> GateBounds:
    from personal.learn.judge.gate import GateBounds

    return GateBounds()


def _gentler(registry: Registry, adapter: Path, base: BaseModel, run_dir: Path, share: float,
             dataset: Dataset, engine: Engine, current: Revision | None,
             bounds: GateBounds | None, tools: list[dict[str, Any]], cache: GenerationCache,
             first: Report,
             ) -> tuple[tuple[Path, dict[str, str], Equivalence, Report, Verdict] | None, str]:  # fmt: skip
    """The trained adapter with its LoRA scale times `share` (every format carries it: the
    scale is in adapter_config.json), exported, checked and gated like the first: (its
    staged export, equivalence, report and verdict; "") when it passes every bound and
    check, else (None, why not — starting "not only retention" when more failed). Its
    retention is measured first, alone (a tenth of the gate), and on its own decides a
    scale that does not help."""
    from personal.learn.judge import gate

    gentle = run_dir / "gentler"
    shutil.rmtree(gentle, ignore_errors=True)
    shutil.copytree(adapter, gentle)
    config_path = gentle / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["lora_parameters"]["scale"] = float(config["lora_parameters"]["scale"]) * share
    config_path.write_text(json.dumps(config, indent=2))
    staged, formats = _export(registry, gentle, base, run_dir)
    bounds = bounds or gate.GateBounds()
    why = gate.retention_first(engine, dataset, staged / formats["gguf"], first, bounds,
                               tools=tools, cache=cache)  # fmt: skip
    if why is None:
        eq = _equivalence(base, staged, formats, dataset)
        report, verdict = _gate(dataset, engine, staged / formats["gguf"], current, bounds,
                                tools, cache)  # fmt: skip
        lost = gate.lost(first, report) if verdict.promote else []
        if verdict.promote and eq.passed and not lost:
            return (staged, formats, eq, report, verdict), ""
        failed = [*lost] if verdict.promote else list(verdict.reasons)
        if not eq.passed:
            failed.append("equivalence check failed: "
                          + ("; ".join(eq.reasons) or "llama.cpp and MLX disagree"))  # fmt: skip
        why = "; ".join(failed)
        if lost or (not verdict.promote and not verdict.retention_only):
            why = f"not only retention: {why}"  # a gentler one would lose more
    shutil.rmtree(staged, ignore_errors=True)
    return None, why


def _gate(dataset: Dataset, engine: Engine, candidate: Path, current: Revision | None,
          bounds: GateBounds | None, tools: list[dict[str, Any]],
          cache: GenerationCache) -> tuple[Report, Verdict]:  # fmt: skip
    from personal.learn.judge import gate

    now = (current.file("gguf"), current.manifest.plan) if current is not None else None
    report = gate.evaluate(engine, dataset, candidate=candidate, current=now, tools=tools,
                           cache=cache)  # fmt: skip
    return report, gate.verdict(report, bounds or gate.GateBounds())


# --- the manifest's records ---------------------------------------------------------------
def _dataset_ref(dataset: Dataset) -> DatasetRef:
    dm = dataset.manifest
    return DatasetRef(hash=dataset.hash, path=str(dataset.path), counts=dm.get("counts") or {},
                      since=dm.get("since"), until=dm.get("until"),
                      messages=len(dm.get("message_ids", [])))  # fmt: skip


def _training(report: TrainReport) -> Training:
    return Training(steps=report.steps, trained_tokens=report.trained_tokens,
                    tokens_per_s=report.tokens_per_s, wall_s=report.wall_s,
                    peak_rss_mb=report.peak_rss_mb, blas=report.blas,
                    final_train_loss=report.final_train_loss,
                    final_val_loss=report.final_val_loss)  # fmt: skip
