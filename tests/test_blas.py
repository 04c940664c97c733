"""The BLAS a training process runs on: OpenBLAS preloaded, with kernels as wide as the
CPU allows even where the library does not know the CPU model (blas.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from personal.engine.blas import (
    AVX2,
    AVX512,
    REEXEC_MARK,
    WIDE,
    cpu_flags,
    find_openblas,
    kernels_for,
)

SKYLAKE_X = AVX512 | AVX2 | {"sse3", "avx"}
HASWELL = AVX2 | {"sse3", "avx"}


@pytest.mark.parametrize(("flags", "chosen", "expected"), [
    (SKYLAKE_X, "Prescott", "SkylakeX"),  # a CPU newer than the library: generic fallback
    (SKYLAKE_X, None, "SkylakeX"),  # the library could not say
    (HASWELL, "Prescott", "Haswell"),
    (HASWELL | {"avx512f"}, "Sandybridge", "Haswell"),  # AVX-512 only in part
    (SKYLAKE_X, "SkylakeX", None),  # the library knew it
    (SKYLAKE_X, "Cooperlake", None),
    (SKYLAKE_X, "Haswell", None),  # its own wide choice is kept
    (SKYLAKE_X, "ZEN", None),
    (frozenset({"sse3", "avx"}), "Sandybridge", None),  # nothing wider to have
    (frozenset(), "Prescott", None),  # no x86 flags (aarch64): never forced
])  # fmt: skip
def test_kernels_are_named_only_where_the_library_chose_narrower_than_the_cpu(
        flags, chosen, expected):  # fmt: skip
    assert kernels_for(frozenset(flags), chosen) == expected


# restarts itself as the training worker does, then says what it runs on
CODE = ("from personal.engine.blas import blas_in_use, reexec_with_openblas; "
        "reexec_with_openblas(['-c', __import__('os').environ['PROBE']]); print(blas_in_use())")  # fmt: skip


def probe(**env: str) -> str:
    """The BLAS line of a fresh process that restarted itself as the worker does."""
    clean = {k: v for k, v in os.environ.items()
             if k not in (REEXEC_MARK, "LD_PRELOAD", "OPENBLAS_CORETYPE")}  # fmt: skip
    r = subprocess.run([sys.executable, "-c", CODE], env={**clean, "PROBE": CODE, **env},
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.strip()


needs_openblas = pytest.mark.skipif(not sys.platform.startswith("linux") or not find_openblas(),
                                    reason="no system OpenBLAS to preload")  # fmt: skip


@needs_openblas
def test_the_restarted_process_runs_openblas_with_the_widest_kernels_the_cpu_has():
    line = probe()
    assert line.startswith("OpenBLAS (") and line.endswith(" kernels)"), line
    kernels = line.rsplit(", ", 1)[1].removesuffix(" kernels)")
    if cpu_flags() >= AVX2:  # measured: generic kernels on such a CPU train 4x slower
        assert kernels.lower() in WIDE, line


@needs_openblas
@pytest.mark.skipif(not cpu_flags() >= AVX2, reason="an x86 CPU with AVX2 names Haswell")
def test_a_core_type_the_person_set_is_kept():
    assert probe(OPENBLAS_CORETYPE="Haswell").endswith(", Haswell kernels)")


PRELOAD = ("from personal.engine.blas import blas_in_use, preload_openblas; "
           "first = preload_openblas(); import mlx.core as mx; "
           "a = mx.ones((64, 64)); mx.eval(a @ a); "
           "print(first is not None, preload_openblas() is None, blas_in_use())")  # fmt: skip


@needs_openblas
def test_the_mlx_engine_s_process_loads_openblas_before_mlx_and_mlx_runs_on_it():
    clean = {k: v for k, v in os.environ.items()
             if k not in (REEXEC_MARK, "LD_PRELOAD", "OPENBLAS_CORETYPE")}  # fmt: skip
    r = subprocess.run([sys.executable, "-c", PRELOAD], env=clean, capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    loaded, too_late, line = r.stdout.strip().split(" ", 2)
    assert (loaded, too_late) == ("True", "True"), r.stdout  # once MLX is loaded: None
    assert line.startswith("OpenBLAS ("), line
    if cpu_flags() >= AVX2:
        assert line.rsplit(", ", 1)[1].removesuffix(" kernels)").lower() in WIDE, line
