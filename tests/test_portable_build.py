"""The llama.cpp that `./dev` builds runs on any x86-64 machine here: no AVX-512, no AMX.

A `-march=native` build on a virtual machine whose CPU reports AMX it has not enabled died
with "Illegal instruction" at the first decode (seen on a fresh machine of this project).
"""

import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() == "x86_64"),
    reason="the baseline build is what ./dev does on Linux x86-64",
)
# a register only AVX-512 (zmm, mask registers) or AMX (tiles) instructions name
BEYOND_AVX2 = re.compile(r"%zmm\d|%k[1-7]\b|%tmm\d|\btile(?:loadd|stored|zero|release)\b|\btdpb")


def test_the_llama_cpp_libraries_use_nothing_beyond_avx2():
    import llama_cpp

    objdump = shutil.which("objdump")
    assert objdump, "objdump (binutils, from build-essential) is part of ./dev's set-up"
    libs = {}  # one per library: a wheel holds libggml-cpu.so, .so.0 and .so.0.25.3 alike
    for p in sorted((Path(llama_cpp.__file__).parent / "lib").glob("lib*.so*")):
        libs.setdefault(p.name.split(".so")[0], p)
    assert "libggml-cpu" in libs, libs
    for lib in libs.values():
        text = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(lib)],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
        found = BEYOND_AVX2.search(text)
        assert found is None, f"{lib.name} uses {found[0]!r}: built for this CPU only"
