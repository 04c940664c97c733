"""`personal train`: run the learning loop once, now."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from personal.cli.show import literal
from personal.learn.config import TrainConfig
from personal.learn.train import events

out = Console(highlight=False)
STAGES = ("distill", "train", "export", "equivalence", "gate", "register")


class StageView:
    """The pipeline's stages as progress lines: one per stage, with its time; the
    training stage counts steps and shows loss, validation loss and tokens/s, with the
    time left (from the step rate so far). Where the output is not a terminal (a log, a
    pipe) each stage prints one plain line when it ends."""

    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(
            SpinnerColumn(finished_text="✓"), TextColumn("{task.description:<15}"),
            BarColumn(bar_width=24), TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
            console=console, transient=False, disable=not console.is_terminal,
        )  # fmt: skip
        self.task: TaskID | None = None
        self.stage: str | None = None
        self.val: float | None = None
        self.timings: dict[str, float] = {}
        self.started = time.monotonic()

    def __enter__(self) -> StageView:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish(ok=exc[0] is None)
        self.progress.__exit__(*exc)

    def on_stage(self, name: str) -> None:
        self.finish()
        self.stage, self.started = name, time.monotonic()
        number = STAGES.index(name) + 1 if name in STAGES else "?"
        self.task = self.progress.add_task(f"{number}/{len(STAGES)} {name}", total=None, info="")

    def on_progress(self, event: events.Event) -> None:
        if self.task is None:
            return
        if isinstance(event, events.Started):
            # the time left is estimated from the steps taken since here
            self.progress.reset(self.task, total=event.iters, completed=event.step)
        elif isinstance(event, events.Step):
            val = f"  val {self.val:.3f}" if self.val is not None else ""
            info = f"step {event.step}/{event.iters}  loss {event.loss:.3f}{val}  " \
                   f"{event.tokens_per_s:.0f} tok/s"  # fmt: skip
            self.progress.update(self.task, completed=event.step, info=info)
        elif isinstance(event, events.Validated):
            self.val = event.val_loss

    def finish(self, ok: bool = True) -> None:
        """Close the running stage's line (done, or where it stopped)."""
        if self.task is None:
            return
        task = self.progress.tasks[self.task]
        total = task.total or 1
        self.progress.update(self.task, total=total, completed=total if ok else task.completed)
        seconds = self.timings[self.stage or "?"] = round(time.monotonic() - self.started, 2)
        if self.progress.disable:
            info = f"  {task.fields['info']}" if task.fields.get("info") else ""
            mark = "✓" if ok else "✗"
            self.console.print(f"{mark} {task.description}{info}  ({seconds:.0f} s)",
                               markup=False, highlight=False)  # fmt: skip
        self.task = None


def train(
    model: str | None = typer.Option(None, "--model", "-m", help="Base model (default: the default)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Build and show the dataset; train nothing."),
    iters: int | None = typer.Option(None, help="Optimizer steps (default: ~1.5 epochs, 20-50)."),
    rank: int = typer.Option(TrainConfig.rank, help="LoRA rank."),
    layers: int = typer.Option(TrainConfig.layers, help="Adapt the last N transformer blocks."),
    learning_rate: float = typer.Option(TrainConfig.learning_rate, help="Adam learning rate."),
    seed: int = typer.Option(TrainConfig.seed, help="Seed for data order, sampling and init."),
    from_scratch: bool = typer.Option(
        False, "--from-scratch",
        help="Distill the whole log and train without warm start (e.g. to replace a "
        "revision trained on messages you have since forgotten).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON on stdout "
                                 "(progress goes to stderr; docs/json-output.md)."),
) -> None:
    """Distill the log into a dataset, train a LoRA adapter, check, gate and register it."""
    from personal.learn.distill.build import summarize
    from personal.learn.pipeline import train_once

    config = TrainConfig(iters=iters or TrainConfig.iters, rank=rank, layers=layers,
                         learning_rate=learning_rate, seed=seed)  # fmt: skip
    view = StageView(Console(stderr=True, highlight=False) if as_json else out)
    with view:
        outcome = train_once(model=model, config=config, auto_steps=iters is None,
                             dry_run=dry_run, on_stage=view.on_stage,
                             on_progress=view.on_progress, from_scratch=from_scratch)  # fmt: skip
    if as_json:
        typer.echo(json.dumps(outcome_json(outcome, view.timings), indent=2))
        return
    if dry_run:
        out.print(literal(summarize(outcome.dataset)))
        return
    rev = outcome.revision
    verdict = "[green]promoted[/]" if outcome.promoted else "[yellow]kept as a candidate[/]"
    out.print(f"revision [bold]{rev.short}[/] {verdict}  (loss curve: personal adapters show "
              f"{rev.short})")  # fmt: skip
    for reason in outcome.reasons:
        out.print(literal(f"  - {reason}"))
    t = outcome.train
    out.print(f"[dim]trained {t.steps} steps, {t.trained_tokens} tokens in {t.wall_s:.0f} s "
              f"({t.tokens_per_s or 0:.0f} tok/s, peak {t.peak_rss_mb:.0f} MB, {t.blas})[/]")  # fmt: skip


def outcome_json(outcome: Any, timings: dict[str, float]) -> dict[str, Any]:
    """The stable shape of `personal train --json` (docs/json-output.md)."""
    manifest = outcome.dataset.manifest
    dataset = {"hash": outcome.dataset.hash, "counts": manifest.get("counts", {})}
    if outcome.revision is None:
        return {"dry_run": True, "dataset": dataset, "stages_s": timings}
    return {
        "dry_run": False, "revision": outcome.revision.id, "promoted": outcome.promoted,
        "reasons": list(outcome.reasons), "dataset": dataset,
        "training": asdict(outcome.train), "stages_s": timings,
    }  # fmt: skip
