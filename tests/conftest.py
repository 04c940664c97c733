"""Test set-up shared by every test.

Every test gets its own PERSONAL_HOME (nothing touches the real user directory), and
OMP_WAIT_POLICY=PASSIVE is set before llama.cpp can be imported. Shared fixtures live
here: a module-scoped home for expensive conversions, the embedded default model (its
catalog entry and a llama.cpp engine), the fake engine the UI tests drive, a real log.

Markers (pyproject.toml): `model` — needs llama.cpp and the embedded weights (seconds);
`slow` — minutes (real training, the whole learning loop). `./dev test -m "not model and
not slow"` is the quick loop; a plain `./dev test` runs everything.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# torch and peft, installed beside the venv by ./dev setup for the PEFT export's tests;
# last on the path, so nothing of the venv's is shadowed
PEFT_SITE = Path(__file__).resolve().parents[1] / ".venv" / "peft-site"
if PEFT_SITE.is_dir() and str(PEFT_SITE) not in sys.path:
    sys.path.append(str(PEFT_SITE))

import pytest  # noqa: E402

from personal.engine.blas import preload_openblas  # noqa: E402

# before any test module loads MLX: MLX in this process runs on OpenBLAS, as the MLX
# engine and the training worker do (engine/blas.py); on the reference BLAS the MLX
# engine's contract tests took minutes
preload_openblas()

MODEL_FIXTURES = {"smollm2_base", "smollm2_engine"}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config, items):
    """A test that uses the embedded model through a fixture is marked `model` by that use,
    so the marker cannot be forgotten."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


EMBEDDED = ("SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf")


@pytest.fixture(autouse=True)
def unmarked_tests_run_no_model(request, monkeypatch):
    """With `-m "not model"`, a test that loads the embedded weights into llama.cpp or MLX
    anyway fails: the quick loop's promise is kept by the suite, not by memory. (Reading
    the model file's header is allowed: that takes milliseconds.)"""
    if "not model" not in (request.config.option.markexpr or ""):
        return
    import llama_cpp

    from personal.adapters import identity
    from personal.engine.mlx_engine import MLXEngine

    def guard(name: object) -> None:
        if Path(str(name)).name in EMBEDDED:
            raise AssertionError(f"this test runs the embedded model ({name}): mark it `model`")

    def guarded(real, position: int = 0):  # where the model path is among the arguments
        def call(*args, **kwargs):
            named = kwargs.get("model_path", kwargs.get("gguf_path"))
            guard(args[position] if len(args) > position else named)
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(llama_cpp.Llama, "__init__", guarded(llama_cpp.Llama.__init__, 1))
    monkeypatch.setattr(MLXEngine, "__init__", guarded(MLXEngine.__init__, 1))
    monkeypatch.setattr(identity, "mlx_dir_for", guarded(identity.mlx_dir_for))


@pytest.fixture(autouse=True)
def personal_home(tmp_path, monkeypatch):
    home = tmp_path / "personal-home"
    monkeypatch.setenv("PERSONAL_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory, request):
    """A directory for one module's fixtures, removed when the module is done. A full run
    writes several GB of model conversions (a host's F32 base, MLX copies); kept to the end
    of the session they add up and once filled a CI machine's disk."""
    path = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def module_home(tmp_path_factory, request):
    """A PERSONAL_HOME for a whole module: model conversions and trained adapters made
    once are found again by every test in it (and by the worker processes they start)."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp(f"{request.module.__name__.rsplit('.', 1)[-1]}-home")
        mp.setenv("PERSONAL_HOME", str(path))
        yield path
    shutil.rmtree(path, ignore_errors=True)  # converted models are large


@pytest.fixture
def log(tmp_path):
    """A real conversation log in the test's temp dir."""
    from personal.log import Log

    with Log(tmp_path / "log.db") as log:
        yield log


@pytest.fixture(scope="session")
def smollm2_base():
    """The embedded default model's catalog entry (SmolLM2-135M-Instruct, Q4_1)."""
    from personal.models import catalog

    return catalog.resolve("smollm2-135m")


@pytest.fixture(scope="module")
def smollm2_engine(smollm2_base):
    """A llama.cpp engine on the embedded default model, shared by a module's tests."""
    from personal.engine.llama import LlamaEngine

    engine = LlamaEngine(smollm2_base, n_ctx=2048, n_threads=2)
    yield engine
    engine.close()


@pytest.fixture
def fake_engine():
    """The scriptable engine the UI tests drive (never left holding a generation)."""
    from personal.engine.fake import FakeEngine

    engine = FakeEngine(model="fake-model")
    yield engine
    engine.release()
