"""The second engine: the same GGUF, dequantized to float32 and run by MLX (mlx-lm).

It exists so that what the trainer (also MLX) optimises is the model people chat with:
prompts are rendered by the same `ChatFormat`, tokens come from a tokenizer rebuilt from
the GGUF (ids identical to llama.cpp's), and `next_token_logprobs` lets tests and the
evaluation gate compare the two engines. On CPU it is slow (a few tokens/s): llama.cpp
stays the engine for chat.

Adapters are mlx-lm adapter directories (`adapter_config.json` + `adapters.safetensors`,
as `mlx_lm.tuner` writes them); they are checked against the model before anything is
changed, so a bad adapter leaves the previous one active.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np

from personal.engine.base import AdapterRef, Engine, EngineInfo, GenerationParams, Message, Usage
from personal.engine.blas import preload_openblas
from personal.engine.llama import ContextOverflow
from personal.engine.prompt import ChatFormat
from personal.engine.stops import StopFilter
from personal.engine.toolcall import CLOSE
from personal.errors import AdapterError, EngineUnavailable
from personal.models.convert import mlx_dir_for, read_conversion
from personal.models.gguf_tokenizer import quiet_transformers

PREFILL_CHUNK = 128  # prompt tokens per forward pass; cancel is checked between chunks
REPEAT_WINDOW = 64  # llama.cpp's default repeat_last_n


class _Cancelled(Exception):
    pass


def _import_mlx() -> Any:
    quiet_transformers()  # mlx_lm imports transformers
    preload_openblas()  # before MLX loads: its matmuls ~70x faster (engine/blas.py)
    try:
        import mlx.core as mx
        import mlx_lm  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the install
        raise EngineUnavailable(
            f"MLX is not importable: {e}", hint='install it: pip install "mlx[cpu]" mlx-lm'
        ) from e
    return mx


class MLXEngine(Engine):
    """`MLXEngine(gguf_path, fingerprint=..., model_name=...)`: convert (cached) and load."""

    def __init__(
        self,
        gguf_path: Path,
        *,
        fingerprint: str,
        model_name: str,
        n_ctx: int = 2048,
        seed: int | None = None,
    ):
        super().__init__()
        self._mx = _import_mlx()
        from mlx_lm.utils import load_model
        from tokenizers import Tokenizer

        self.model_dir = mlx_dir_for(Path(gguf_path), fingerprint)
        record = read_conversion(self.model_dir)
        self.model, config = load_model(self.model_dir)
        self.model.set_dtype(self._mx.float32)  # fp32: bf16/fp16 are slow on CPU (no BLAS)
        self._tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        chat = record["chat"]
        self.format = ChatFormat.from_metadata(
            chat["template"], chat["bos_token"], chat["eos_token"]
        )
        self._bos, self._add_bos = chat["bos_token"], bool(chat["add_bos_token"])
        self._eog = frozenset(chat["eog_token_ids"])
        # One random stream per engine, as llama.cpp's seed: a per-request seed restarts it.
        self._mx.random.seed(seed if seed is not None else int.from_bytes(os.urandom(4), "little"))
        self._linears = _lora_targets(self.model)  # before any adapter wraps them
        self.info = EngineInfo(
            backend="mlx",
            model=model_name,
            fingerprint=fingerprint,
            n_ctx=min(n_ctx, int(config.get("max_position_embeddings") or n_ctx)),
            extra={"model_dir": str(self.model_dir), "dtype": "float32",
                   "architecture": record["architecture"]},
        )  # fmt: skip

    # --- text <-> tokens -------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        """Token ids as llama.cpp makes them: special tokens parsed, BOS where the vocab
        asks for one (not twice when the text already starts with it)."""
        add_bos = self._add_bos and not (self._bos and text.startswith(self._bos))
        return self._tok.encode(text, add_special_tokens=add_bos).ids

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def prompt_tokens(self, messages: list[Message]) -> list[int]:
        return self.tokenize(self.format.render(messages))

    def decode(self, ids: list[int]) -> str:
        return self._tok.decode(ids, skip_special_tokens=False)

    # --- scoring --------------------------------------------------------------------
    def next_token_logprobs(self, prompt: str | list[Message]) -> np.ndarray:
        """Log-softmax over the vocabulary for the token after `prompt` (rendered with the
        chat template and a generation prompt when it is a message list)."""
        ids = self.prompt_tokens(prompt) if isinstance(prompt, list) else self.tokenize(prompt)
        mx = self._mx
        with self._lock:
            self._use(self._adapter)  # a request's own adapter may be the live one
            logits = _last_logits(self.model, mx.array(ids)[None]).astype(mx.float32)
            logprobs = logits - mx.logsumexp(logits, keepdims=True)
            return np.array(logprobs[0, -1])

    # --- generation -----------------------------------------------------------------
    def _generate(
        self, messages: list[Message], params: GenerationParams, cancel: threading.Event
    ) -> Generator[str, None, Usage]:
        tokens = self.prompt_tokens(messages)
        n_ctx = self.info.n_ctx
        if len(tokens) >= n_ctx:
            raise ContextOverflow(
                f"the conversation is {len(tokens)} tokens; the context holds {n_ctx}",
                hint="start a new conversation, or load the model with a larger context",
            )
        budget = min(params.max_tokens, n_ctx - len(tokens))
        if budget <= 0:
            return Usage(len(tokens), 0, "length")
        steps = self._steps(tokens, params, budget, cancel)
        # No grammar-constrained decoding in MLX: a started tool call is completed freely,
        # ends at CLOSE, and the Stream's parser reports it if it is malformed.
        text = StopFilter(
            tuple(params.stop) + self.format.stops + ((CLOSE,) if params.tools else ())
        )
        produced: list[int] = []
        sent = ""  # decoded text handed to the stop filter so far
        finish = "length"
        try:
            for token in steps:
                if cancel.is_set():
                    return Usage(len(tokens), len(produced), "cancelled")
                if token in self._eog:
                    finish = "stop"
                    break
                produced.append(token)
                full = self.decode(produced)
                if full.endswith("\ufffd") and len(produced) < budget:
                    continue  # a multi-byte character is still incomplete
                piece, stop = text.feed(full[len(sent) :])
                sent = full
                if stop == CLOSE:
                    yield piece + CLOSE
                    return Usage(len(tokens), len(produced), "tool_calls")
                if piece:
                    yield piece
                if stop is not None:
                    return Usage(len(tokens), len(produced), "stop")
        except _Cancelled:
            return Usage(len(tokens), len(produced), "cancelled")
        finally:
            steps.close()
        # Text held back as a possible stop-string start belongs to the reply after all.
        tail = text.flush(self.decode(produced)[len(sent) :])
        if tail:
            yield tail
        return Usage(len(tokens), len(produced), finish)

    def _steps(
        self, tokens: list[int], params: GenerationParams, budget: int, cancel: threading.Event
    ) -> Generator[int, None, None]:
        """Token ids from mlx-lm's generate_step, sampling as GenerationParams says."""
        from mlx_lm.generate import generate_step
        from mlx_lm.sample_utils import make_repetition_penalty, make_sampler

        mx = self._mx
        if params.seed is not None:
            mx.random.seed(params.seed)
        sampler = make_sampler(
            temp=max(params.temperature, 0.0), top_p=params.top_p, top_k=params.top_k
        )
        processors = []
        if params.repeat_penalty and params.repeat_penalty != 1.0:
            processors.append(make_repetition_penalty(params.repeat_penalty, REPEAT_WINDOW))

        def progress(done: int, total: int) -> None:
            if cancel.is_set() and done < total:
                raise _Cancelled  # stops a long prompt between chunks

        for token, _ in generate_step(
            mx.array(tokens),
            self.model,
            max_tokens=budget,
            sampler=sampler,
            logits_processors=processors,
            prefill_step_size=PREFILL_CHUNK,
            prompt_progress_callback=progress,
        ):
            yield int(token)

    # --- adapters -------------------------------------------------------------------
    def _attach(self, ref: AdapterRef) -> None:
        from mlx_lm.tuner.utils import linear_to_lora_layers, remove_lora_layers

        config, weights = self._load_adapter(Path(ref.path))
        params = dict(config["lora_parameters"])
        params["scale"] = float(params["scale"]) * ref.scale
        params.setdefault("dropout", 0.0)
        remove_lora_layers(self.model)
        linear_to_lora_layers(self.model, int(config["num_layers"]), params)
        fp32 = [(k, v.astype(self._mx.float32)) for k, v in weights.items()]  # as the base
        self.model.load_weights(fp32, strict=False)
        self.model.eval()
        self._mx.eval(self.model.parameters())

    def _detach(self) -> None:
        from mlx_lm.tuner.utils import remove_lora_layers

        remove_lora_layers(self.model)

    def _load_adapter(self, path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        """Read and check an adapter directory; raise AdapterError listing every problem."""
        try:
            config = json.loads((path / "adapter_config.json").read_text())
            weights = self._mx.load(str(path / "adapters.safetensors"))
        except (OSError, ValueError, RuntimeError) as e:
            raise AdapterError(
                f"cannot read the adapter at {path}: {e}",
                hint="an adapter is a directory with adapter_config.json and "
                "adapters.safetensors; the previous adapter stays active",
            ) from None
        problems = _check_adapter(config, weights, self._linears, len(self.model.layers))
        if problems:
            raise AdapterError(
                f"the adapter at {path} does not fit this model:\n  " + "\n  ".join(problems),
                hint="it was probably trained on another base model; the previous adapter "
                "stays active",
            )
        return config, weights

    def close(self) -> None:
        with self._lock:
            self.model = None  # type: ignore[assignment]


def _last_logits(model: Any, ids: Any) -> Any:
    """Logits for the last position only: the LM head over every position costs ~30% more."""
    inner, args = getattr(model, "model", None), getattr(model, "args", None)
    tied = getattr(model, "tie_word_embeddings", getattr(args, "tie_word_embeddings", None))
    if inner is None or tied is None:
        return model(ids)[:, -1:, :]
    h = inner(ids)[:, -1:, :]
    return inner.embed_tokens.as_linear(h) if tied else model.lm_head(h)


def _lora_targets(model: Any) -> dict[str, tuple[int, int]]:
    """`{"model.layers.{i}.{path}": (in, out)}` for every linear layer a LoRA could wrap."""
    import mlx.nn as nn

    targets = {}
    for i, layer in enumerate(model.layers):
        for name, module in layer.named_modules():
            if isinstance(module, nn.Linear):
                out_dims, in_dims = module.weight.shape
                targets[f"model.layers.{i}.{name}"] = (in_dims, out_dims)
    return targets


def _check_adapter(
    config: dict[str, Any], weights: dict[str, Any], linears: dict[str, tuple[int, int]],
    n_layers: int,
) -> list[str]:  # fmt: skip
    """Every way `config` + `weights` fail to match the model (empty: it fits)."""
    if not isinstance(config, dict):
        return ["adapter_config.json does not hold a JSON object"]
    problems = []
    kind = config.get("fine_tune_type", "lora")
    lora = config.get("lora_parameters") or {}
    if kind != "lora":
        problems.append(f"fine_tune_type {kind!r} is not supported (only 'lora')")
    for key in ("rank", "scale"):
        if key not in lora:
            problems.append(f"adapter_config.json: lora_parameters has no {key!r}")
    if not isinstance(config.get("num_layers"), int):
        problems.append("adapter_config.json: num_layers is missing or not an integer")
    if problems:
        return problems
    # mlx-lm wraps model.layers[-max(num_layers, 0):], so 0 or -1 means every layer.
    first = max(n_layers - config["num_layers"], 0) if config["num_layers"] > 0 else 0
    keys = lora.get("keys")
    expected = {}
    for name, (n_in, n_out) in linears.items():
        layer = int(name.split(".")[2])
        if layer >= first and (keys is None or name.split(".", 3)[3] in keys):
            expected[f"{name}.lora_a"] = (n_in, lora["rank"])
            expected[f"{name}.lora_b"] = (lora["rank"], n_out)
    for name, w in weights.items():
        if name not in expected:
            problems.append(f"{name}: not a LoRA parameter of this model and config")
        elif tuple(w.shape) != expected[name]:
            problems.append(f"{name}: shape {tuple(w.shape)}, expected {expected[name]}")
    problems += [f"{name}: missing" for name in sorted(expected.keys() - weights.keys())]
    return problems
