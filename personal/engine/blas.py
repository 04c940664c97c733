"""Which BLAS MLX's CPU matmuls run on in this process, and making it a fast one.

The mlx-cpu wheel links a reference BLAS (~5 GFLOP/s, FACTS.md). Two ways to OpenBLAS:
- a process that trains (or checks equivalence) restarts itself once with the system's
  OpenBLAS in LD_PRELOAD (`reexec_with_openblas`);
- a process that runs the MLX engine loads OpenBLAS with RTLD_GLOBAL before MLX loads
  (`preload_openblas`): MLX's BLAS calls then resolve to it (fp32 matmul 3 → 233 GFLOP/s,
  greedy decoding 1.1 → 6.2 tokens/s on SmolLM2). Once MLX is loaded it is too late.

OpenBLAS chooses its kernels by CPU model when it loads. A build older than the CPU does
not know the model and falls back to its generic SSE3 kernels ("Prescott"): Debian 12's
0.3.21 on a Sapphire Rapids Xeon multiplied fp32 at 21 GFLOP/s where the same library with
its AVX-512 kernels reaches 190, and a training step took 4× as long. So the restart also
names the kernels (OPENBLAS_CORETYPE) when the library's own choice is narrower than the
CPU's flags allow; a core type the person set is left as it is.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

REEXEC_MARK = "PERSONAL_BLAS_CHECKED"  # set once the process has decided on its BLAS
OPENBLAS_PATHS = (
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",  # Debian/Ubuntu libopenblas0-pthread
    "/usr/lib/aarch64-linux-gnu/openblas-pthread/libblas.so.3",
)
AVX512 = frozenset({"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"})
AVX2 = frozenset({"avx2", "fma"})
# OpenBLAS core names (openblas_get_corename, lowercased) whose kernels use AVX2 or wider
WIDE = frozenset({"haswell", "zen", "excavator", "skylakex", "cooperlake", "sapphirerapids"})


def find_openblas() -> str | None:
    """A preloadable OpenBLAS `libblas.so.3` (Debian's paths, then the linker cache)."""
    for path in OPENBLAS_PATHS:
        if os.path.exists(path):
            return path
    try:
        cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    for line in cache.stdout.splitlines():
        name, _, path = line.strip().partition(" => ")
        if name.startswith(("libblas.so.3", "libopenblas.so.0")) and "openblas" in (
            os.path.realpath(path) if path else ""
        ):
            return path
    return None


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_flags() -> frozenset[str]:
    """The x86 feature flags of this machine's CPU (empty where /proc/cpuinfo has none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "flags":
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def corename(lib: str) -> str | None:
    """The kernels OpenBLAS at `lib` chose (loading it if it is not loaded), or None."""
    try:
        fn = ctypes.CDLL(lib).openblas_get_corename
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_char_p
    name = fn()
    return name.decode("ascii", "replace").strip() if name else None


def kernels_for(flags: frozenset[str], chosen: str | None) -> str | None:
    """The OPENBLAS_CORETYPE to set, or None: when OpenBLAS's own choice (`chosen`)
    already uses AVX2 or wider, or the CPU has nothing wider than what it chose."""
    if chosen and chosen.lower() in WIDE:
        return None
    if flags >= AVX512:
        return "SkylakeX"
    if flags >= AVX2:
        return "Haswell"
    return None


def reexec_with_openblas(python_args: list[str]) -> None:
    """On Linux, restart this process (`python *python_args`) with OpenBLAS preloaded and
    its kernels as wide as the CPU allows, once; returns when that is not possible or
    already done. Call it before MLX loads."""
    if not sys.platform.startswith("linux") or os.environ.get(REEXEC_MARK):
        return
    env = dict(os.environ, **{REEXEC_MARK: "1"})
    lib = find_openblas()
    if lib and "openblas" not in env.get("LD_PRELOAD", ""):
        env["LD_PRELOAD"] = " ".join(filter(None, [lib, env.get("LD_PRELOAD")]))
        env.setdefault("OPENBLAS_NUM_THREADS", str(cores()))
        if not env.get("OPENBLAS_CORETYPE") and (kind := kernels_for(cpu_flags(), corename(lib))):
            env["OPENBLAS_CORETYPE"] = kind
        os.execve(sys.executable, [sys.executable, *python_args], env)
    os.environ[REEXEC_MARK] = "1"


# `corename` in a child: what the library would choose, without loading it here
_PROBE = "import sys; from personal.engine.blas import corename; print(corename(sys.argv[1]) or '')"


def preload_openblas() -> str | None:
    """Load OpenBLAS into this process for MLX to use (see the module docstring), with
    kernels as wide as the CPU allows (what OpenBLAS would choose is asked of a short-lived
    child: the kernels are fixed when the library loads). Returns the library, or None
    where there is none, MLX is already loaded, or it is not Linux."""
    if not sys.platform.startswith("linux") or "mlx.core" in sys.modules:
        return None
    lib = find_openblas()
    if lib is None:
        return None
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(cores()))
    if not os.environ.get("OPENBLAS_CORETYPE"):
        try:
            asked = subprocess.run([sys.executable, "-c", _PROBE, lib], capture_output=True,
                                   text=True, timeout=30)  # fmt: skip
            chosen = (asked.stdout.strip() or None) if asked.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            chosen = None
        if kind := kernels_for(cpu_flags(), chosen):
            os.environ["OPENBLAS_CORETYPE"] = kind
    try:
        ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
    except OSError:
        return None
    return lib


def blas_in_use() -> str:
    """Which BLAS this process has loaded, as a report line (with OpenBLAS's kernels)."""
    if sys.platform == "darwin":
        return "Accelerate"
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return "unknown"
    # numpy bundles its own symbol-suffixed OpenBLAS, which MLX cannot use: skip it.
    libs = {
        line.split()[-1]
        for line in maps.splitlines()
        if "openblas" in line.lower() and "scipy_openblas" not in line and ".libs/" not in line
    }
    if libs:
        lib = sorted(libs)[0]
        threads = os.environ.get("OPENBLAS_NUM_THREADS", "?")
        return f"OpenBLAS ({lib}, {threads} threads, {corename(lib) or 'unknown'} kernels)"
    return "reference BLAS (slow)"
