"""`personal train`: run the learning loop once, now."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from personal.cli.show import literal
from personal.learn.config import TrainConfig

out = Console(highlight=False)


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
) -> None:
    """Distill the log into a dataset, train a LoRA adapter, check, gate and register it."""
    from personal.learn.distill.build import summarize
    from personal.learn.pipeline import train_once
    from personal.learn.train import events

    config = TrainConfig(iters=iters or TrainConfig.iters, rank=rank, layers=layers,
                         learning_rate=learning_rate, seed=seed)  # fmt: skip
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                  TimeElapsedColumn(), console=out, transient=False) as bar:  # fmt: skip
        task = bar.add_task("distill", total=None, info="")

        def on_stage(name: str) -> None:
            bar.update(task, description=name, total=None, completed=0, info="")

        def on_progress(event: events.Event) -> None:
            if isinstance(event, events.Started):
                bar.update(task, total=event.iters, completed=event.step)
            elif isinstance(event, events.Step):
                info = f"loss {event.loss:.3f}  {event.tokens_per_s:.0f} tok/s"
                bar.update(task, completed=event.step, info=info)

        outcome = train_once(model=model, config=config, auto_steps=iters is None,
                             dry_run=dry_run, on_stage=on_stage, on_progress=on_progress,
                             from_scratch=from_scratch)  # fmt: skip
        bar.update(task, description="done", info="")
    if dry_run:
        out.print(literal(summarize(outcome.dataset)))
        return
    rev = outcome.revision
    verdict = "[green]promoted[/]" if outcome.promoted else "[yellow]kept as a candidate[/]"
    out.print(f"revision [bold]{rev.short}[/] {verdict}")
    for reason in outcome.reasons:
        out.print(literal(f"  - {reason}"))
    t = outcome.train
    out.print(f"[dim]trained {t.steps} steps, {t.trained_tokens} tokens in {t.wall_s:.0f} s "
              f"({t.tokens_per_s or 0:.0f} tok/s, peak {t.peak_rss_mb:.0f} MB, {t.blas})[/]")  # fmt: skip
