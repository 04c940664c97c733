"""`personal models`: the base models personal can run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from personal.cli.show import literal, plain
from personal.errors import ModelError
from personal.models import catalog

app = typer.Typer(help="List and inspect base models; choose the default; export one.",
                  no_args_is_help=True)  # fmt: skip
out = Console(highlight=False)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """The catalog, with where each model's file is and which is the default."""
    default = catalog.default_name()
    rows = []
    for entry in catalog.CATALOG.values():
        try:
            path = entry.where()
        except ModelError as e:
            path = f"not installed ({e.hint})"
        rows.append({"name": entry.name, "default": entry.name == default, "title": entry.title,
                     "license": entry.license, "package": entry.package, "path": path})  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("", "name", "model", "license", "file", box=None)
    for r in rows:
        table.add_row("*" if r["default"] else "", r["name"], r["title"], r["license"],
                      literal(r["path"]))  # fmt: skip
    out.print(table)
    if default not in catalog.CATALOG:
        out.print(f"* default: {plain(default)}")
    out.print("[dim]any local .gguf path works too (llama or gemma3 architecture)[/]")


@app.command("show")
def show(
    name: str | None = typer.Argument(None, help="Catalog name or .gguf path (default: the default model)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Architecture, size and fingerprint of one model."""
    info = catalog.resolve(name).describe()
    info["default"] = info["name"] == catalog.default_name()
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        out.print(f"[bold]{key:>16}[/]  {plain(value)}")


@app.command("default")
def default(
    name: str | None = typer.Argument(None, help="Make this the default (omit to show)."),
) -> None:
    """Show or set the default model."""
    if name:
        model = catalog.set_default(name)
        typer.echo(f"default model: {model.name}")
    else:
        typer.echo(catalog.default_name())


@app.command("export")
def export(
    directory: Path = typer.Argument(..., help="Where to write the model (created)."),
    name: str | None = typer.Option(None, "--model", "-m", help="Catalog name or .gguf path "
                                    "(default: the default model)."),
) -> None:
    """Write a base model in Hugging Face format (config.json, model.safetensors, tokenizer;
    float32, the weights personal trains on): mlx-lm and transformers load it, with an
    adapter revision exported for that base (docs/use-elsewhere.md)."""
    from personal.models.convert import mlx_dir_for

    model = catalog.resolve(name)
    source = mlx_dir_for(model.path, model.fingerprint)  # converted once, then cached
    directory.mkdir(parents=True, exist_ok=True)
    for file in sorted(source.iterdir()):
        if file.is_file():
            shutil.copyfile(file, directory / file.name)
    out.print(f"wrote {model.name} ({model.fingerprint[:12]}) to {directory}", markup=False)
