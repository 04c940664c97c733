"""`personal adapters`: inspect, compare, evaluate, export and roll back revisions."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from personal.adapters.curve import draw, read_curve
from personal.adapters.registry import Registry, Revision
from personal.errors import PersonalError
from personal.models import catalog

app = typer.Typer(help="Adapter revisions: list, show, diff, eval, rollback, pin, export, rm.",
                  no_args_is_help=True)  # fmt: skip
out = Console(highlight=False)
FORMATS = ("gguf", "peft", "mlx")


def _base(model: str | None):
    return catalog.resolve(model)


def _rev(reg: Registry, ref: str, model: str | None) -> Revision:
    base = _base(model)
    return reg.get(ref, base.fingerprint)


MODEL = typer.Option(None, "--model", "-m", help="Base model (default: the default).")


@app.command("list")
def list_(model: str | None = MODEL, as_json: bool = typer.Option(False, "--json")) -> None:
    """Revisions of the base model, newest first; * marks the current one."""
    reg, base = Registry(), _base(model)
    revs = reg.list(base.fingerprint)
    cur = reg.pointer(base.fingerprint)
    if as_json:
        typer.echo(json.dumps([{**r.manifest.to_dict(), "current": r.id == cur["revision"]}
                               for r in revs], indent=2))  # fmt: skip
        return
    if not revs:
        out.print(f"no adapter revisions for {base.name} yet: personal train")
        return
    table = Table("", "revision", "created", "parent", "verdict", "steps", "dataset", box=None)
    for r in revs:
        verdict = "[green]promoted[/]" if r.promoted else "[yellow]rejected[/]"
        table.add_row("*" if r.id == cur["revision"] else "", r.short, r.created_at[:16],
                      (r.parent or "")[:12], verdict,
                      str(r.manifest.training.steps or ""),
                      (r.manifest.dataset.hash or "")[:12])  # fmt: skip
    out.print(table)
    if cur.get("pinned"):
        out.print("[bold]pinned[/]: the daemon will not promote new revisions (adapters unpin)")


@app.command("show")
def show(ref: str = typer.Argument(..., help="Revision id prefix, or 'current'."),
         model: str | None = MODEL, as_json: bool = typer.Option(False, "--json")) -> None:  # fmt: skip
    """A revision's provenance, metrics and verdict; verifies its files."""
    reg = Registry()
    rev = _rev(reg, ref, model)
    problems = reg.verify(rev)
    loss = read_curve(rev.path)
    if as_json:
        typer.echo(json.dumps({**rev.manifest.to_dict(), "problems": problems,
                               "loss": loss.to_dict() if loss else None}, indent=2))  # fmt: skip
        return
    m = rev.manifest
    out.print(f"[bold]{rev.id}[/]  {m.created_at}")
    out.print(f"  base       {m.base.name} ({m.base.fingerprint[:12]})")
    out.print(f"  parent     {m.parent or 'none'}")
    ds = m.dataset
    out.print(f"  dataset    {(ds.hash or '')[:12]}  {ds.counts}  "
              f"{ds.messages} messages until {ds.until}")  # fmt: skip
    out.print(f"  config     {json.dumps(m.config)}")
    out.print(f"  training   {json.dumps(asdict(m.training))}")
    out.print(f"  verdict    {'promoted' if rev.promoted else 'not promoted'}")
    for reason in m.verdict.reasons:
        out.print(f"             - {reason}")
    eq = m.equivalence
    if eq is not None:
        out.print(f"  equivalence {'passed' if eq.passed else 'FAILED'}  "
                  + json.dumps({**eq.figures, "reasons": list(eq.reasons)}))  # fmt: skip
    out.print(f"  formats    {', '.join(m.formats)}")
    out.print("  files      " + ("ok" if not problems else "[red]" + "; ".join(problems) + "[/]"))
    if loss is None or not (loss.train or loss.val):
        out.print("  loss       none recorded (an imported revision)")
        return
    out.print()
    out.print(Text.from_ansi(draw(loss, width=min(out.width, 100) - 2, height=16,
                                  color=out.is_terminal)))  # fmt: skip
    last = f"train {loss.train[-1][1]:.3f}" if loss.train else ""
    val = f", validation {loss.val[-1][1]:.3f}" if loss.val else ""
    out.print(f"  final loss {last}{val} at step {max(p[0] for p in loss.train + loss.val)}")


@app.command("diff")
def diff(a: str, b: str, model: str | None = MODEL,
         as_json: bool = typer.Option(False, "--json", help="Print {a, b, changed: {section: "
                                      "{key: [a, b]}}, weights_delta} (docs/json-output.md)."),
         ) -> None:  # fmt: skip
    """What differs between two revisions: config, data, metrics, and the weights."""
    from personal.adapters.compare import weight_delta

    reg = Registry()
    ra, rb = _rev(reg, a, model), _rev(reg, b, model)
    da, db = ra.manifest.to_dict(), rb.manifest.to_dict()
    changes: dict[str, dict[str, list]] = {}
    for section in ("config", "dataset", "training", "metrics"):
        va, vb = da.get(section) or {}, db.get(section) or {}
        keys = sorted(set(va) | set(vb))
        changed = {k: [va.get(k), vb.get(k)] for k in keys if va.get(k) != vb.get(k)}
        if changed:
            changes[section] = changed
    delta = weight_delta(ra.file("mlx"), rb.file("mlx"))
    if as_json:
        typer.echo(json.dumps({"a": ra.id, "b": rb.id, "changed": changes,
                               "weights_delta": delta}, indent=2))  # fmt: skip
        return
    for section, changed in changes.items():
        out.print(f"[bold]{section}[/]")
        for k, (x, y) in changed.items():
            out.print(f"  {k}: {json.dumps(x)} → {json.dumps(y)}", markup=False)
    out.print(f"[bold]weights[/]  relative change of B·A: {delta:.4f} "
              "(0: identical adapters)")  # fmt: skip


@app.command("eval")
def eval_(ref: str = typer.Argument(..., help="Revision id prefix, or 'current'."),
          model: str | None = MODEL,
          as_json: bool = typer.Option(False, "--json", help="Print {revision, objectives, "
                                       "metrics: {label: {...}}} (docs/json-output.md).")) -> None:  # fmt: skip
    """Re-run the gate's measurements for a revision: the bare base, the base with your
    preferences in its prompt, and the revision without and with them."""
    from personal.engine.llama import LlamaEngine
    from personal.learn.dataset import load_dataset
    from personal.learn.judge import gate
    from personal.log import Log
    from personal.tools import load_registry

    reg = Registry()
    rev = _rev(reg, ref, model)
    base = _base(model)
    if not rev.manifest.dataset.path:
        raise PersonalError(f"revision {rev.short} records no dataset to evaluate it on",
                            hint="it was imported; evaluate a trained revision")  # fmt: skip
    dataset = load_dataset(Path(rev.manifest.dataset.path))
    with Log() as log:
        tools = load_registry(log, strict=False).schemas()
    engine = LlamaEngine(base, n_ctx=2048)
    try:
        report = gate.evaluate(engine, dataset, candidate=rev.file("gguf"), tools=tools)
    finally:
        engine.close()
    if as_json:
        typer.echo(json.dumps({"revision": rev.id,
                               "objectives": [o.to_dict() for o in report.objectives],
                               "metrics": {label: asdict(m) for label, m in report.metrics.items()}},
                              indent=2))  # fmt: skip
        return
    out.print(gate.format_metrics(report))


@app.command("rollback")
def rollback(ref: str | None = typer.Argument(None, help="Revision to make current (default: "
             "the one before the current one; none left: no adapter)."),
             model: str | None = MODEL) -> None:  # fmt: skip
    """Make an earlier revision current again."""
    reg, base = Registry(), _base(model)
    target = reg.get(ref, base.fingerprint) if ref else None
    now = reg.rollback(base.fingerprint, target)
    out.print(f"current: {now.short if now else 'none (bare base model)'}")
    _follow_on_host(reg, base.fingerprint)


@app.command("pin")
def pin(ref: str | None = typer.Argument(None, help="Make this current first (default: keep)."),
        model: str | None = MODEL, off: bool = typer.Option(False, "--off", help="Unpin.")) -> None:  # fmt: skip
    """Pin the current revision: training keeps candidates but promotes nothing."""
    reg, base = Registry(), _base(model)
    if ref:
        reg.set_current(base.fingerprint, reg.get(ref, base.fingerprint), "pin")
    reg.set_pinned(base.fingerprint, not off)
    cur = reg.current(base.fingerprint)
    state = "unpinned" if off else "pinned"
    out.print(f"{state}; current: {cur.short if cur else 'none'}")
    _follow_on_host(reg, base.fingerprint)


def _follow_on_host(reg: Registry, fingerprint: str) -> None:
    """With a host configured (personal sync login), its pointer follows this device's;
    a host out of reach is a warning, not a failure (personal sync push catches up)."""
    from personal.daemon.publish import follow_pointer
    from personal.sync import config as sync_config

    if sync_config.load() is None:
        return
    try:
        follow_pointer(reg, fingerprint, say=lambda s: out.print(f"[dim]host:[/] {s}"))
    except PersonalError as e:
        typer.secho(f"the host's pointer did not follow: {e.message} (personal sync push "
                    "retries)", err=True, fg="yellow")  # fmt: skip


@app.command("export")
def export(ref: str, directory: Path = typer.Argument(..., help="Where to write it."),
           fmt: str = typer.Option("gguf", "--format", "-f", help="gguf, peft or mlx."),
           model: str | None = MODEL) -> None:  # fmt: skip
    """Copy one format of a revision out (GGUF-LoRA for llama.cpp, PEFT for HF/vLLM, MLX)."""
    if fmt not in FORMATS:
        raise PersonalError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    reg = Registry()
    rev = _rev(reg, ref, model)
    src = rev.file(fmt)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / src.name
    if src.is_dir():
        shutil.copytree(src, target, dirs_exist_ok=True)
    else:
        shutil.copyfile(src, target)
    # the public projection: an export may be shared, the person's own words may not
    (directory / f"{rev.short}.manifest.json").write_text(json.dumps(rev.manifest.public(), indent=2))
    out.print(f"wrote {target} (+ its public manifest)")


@app.command("rm")
def rm(ref: str, model: str | None = MODEL) -> None:
    """Delete a revision (not the current one)."""
    reg = Registry()
    rev = _rev(reg, ref, model)
    reg.remove(rev)
    out.print(f"removed {rev.short}")


@app.command("import")
def import_(path: Path = typer.Argument(..., help="An MLX or PEFT adapter (directory or "
                                        ".safetensors file)."),
            scale: float | None = typer.Option(None, help="LoRA multiplier, if the adapter's "
                                               "config does not say."),
            model: str | None = MODEL) -> None:  # fmt: skip
    """Register an adapter made elsewhere (safetensors only; checked against the base)."""
    from personal.adapters.importer import import_adapter

    rev = import_adapter(path, _base(model), Registry(), scale)
    out.print(f"imported as revision {rev.short} (not current: personal adapters eval "
              f"{rev.short}, then personal adapters rollback {rev.short} to use it)")  # fmt: skip
