"""The host's second engine: a vLLM OpenAI server (standalone, or Ray Serve's app) behind
the `Engine` interface.

    engine = VLLMEngine(url, model_dir, adapters=RuntimeLoRA(url), model=..., fingerprint=...)
    engine.chat(messages, params, adapter=ref)     # many at once: vLLM batches them
    engine.preload(ref) / engine.evict(ref)        # the host's Residency decides when

The prompt is rendered and tokenized here, exactly as the device's engines do it (the
model's own chat template through `ChatFormat`, the tokenizer rebuilt from the GGUF), and
sent to vLLM as token ids: the host's probes tokenize identically to the device's, and vLLM's
own chat template handling never decides what a tenant's prompt is. Unlike llama.cpp, many
generations run at once (the host's queue admits several); each names its adapter in
`model`, which vLLM batches across adapters (`max_loras` per batch).

How an adapter becomes a name the server knows is `AdapterHandling`'s business: a
standalone server loads PEFT directories by path (`RuntimeLoRA`); Ray Serve LLM downloads
them from an object store by name (`personal.host.vllm_ray.Published`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Generator
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import httpx
import numpy as np

from personal.engine.base import (
    SLOT,
    AdapterRef,
    Engine,
    EngineInfo,
    GenerationParams,
    Message,
    Stream,
    Usage,
)
from personal.engine.prompt import ChatFormat
from personal.engine.toolcall import OPEN, to_text_messages
from personal.errors import AdapterError, EngineError
from personal.models.convert import read_conversion

TIMEOUT = httpx.Timeout(600.0, connect=5.0)
log = logging.getLogger(__name__)
LOGPROBS_TOP = 1024  # next-token log-probabilities read exactly (the server's --max-logprobs)


class AdapterHandling(Protocol):
    def name(self, ref: AdapterRef) -> str:
        """The `model` a request on `ref` names."""
        ...

    def load(self, ref: AdapterRef) -> None: ...

    def unload(self, ref: AdapterRef) -> None: ...


def lora_name(ref: AdapterRef) -> str:
    """A revision's immutable vLLM name: its directory's (tenant and revision), never
    reused for other weights, so vLLM never reloads a name in place."""
    return Path(ref.path).name


class RuntimeLoRA:
    """A standalone vLLM server: `/v1/load_lora_adapter` with the PEFT directory's path."""

    def __init__(self, url: str, client: httpx.Client):
        self.url, self.client = url, client

    def name(self, ref: AdapterRef) -> str:
        return lora_name(ref)

    def load(self, ref: AdapterRef) -> None:
        if not (Path(ref.path) / "adapter_config.json").is_file():
            raise AdapterError(f"no PEFT adapter at {ref.path}")
        r = self.client.post(self.url + "/v1/load_lora_adapter",
                             json={"lora_name": self.name(ref), "lora_path": str(ref.path)})  # fmt: skip
        if r.status_code == 400 and "already been loaded" in r.text:
            return  # loaded before a restart of the host (the name is immutable: same weights)
        if r.status_code != 200:
            raise AdapterError(f"vLLM could not load the adapter ({r.status_code}): "
                               f"{_message(r)}")  # fmt: skip

    def unload(self, ref: AdapterRef) -> None:
        r = self.client.post(self.url + "/v1/unload_lora_adapter",
                             json={"lora_name": self.name(ref)})  # fmt: skip
        if r.status_code not in (200, 404):
            raise AdapterError(f"vLLM could not unload the adapter ({r.status_code}): "
                               f"{_message(r)}")  # fmt: skip


class VLLMEngine(Engine):
    forces_tools = False  # no grammar-constrained tool calls through this path (yet)

    def __init__(self, url: str, model_dir: Path, *, model: str, fingerprint: str,
                 n_ctx: int, served_name: str = "base", backend: str = "vllm",
                 adapters: AdapterHandling | None = None, extra: dict[str, Any] | None = None,
                 logprobs_top: int = LOGPROBS_TOP, retries: int | None = None):  # fmt: skip
        super().__init__()
        # Ray Serve: a request routed to a replica that just died fails (500) before any
        # output; sent again, it goes to a live replica. A standalone server has no other.
        self.retries = (2 if backend == "ray" else 0) if retries is None else retries
        from tokenizers import Tokenizer

        self.url = url.rstrip("/")
        self.served_name = served_name
        self.logprobs_top = logprobs_top
        self.client = httpx.Client(timeout=TIMEOUT, limits=httpx.Limits(max_connections=256))
        self.adapters = adapters or RuntimeLoRA(self.url, self.client)
        record = read_conversion(model_dir)
        chat = record["chat"]
        self.format = ChatFormat.from_metadata(chat["template"], chat["bos_token"],
                                               chat["eos_token"])  # fmt: skip
        self._bos, self._add_bos = chat["bos_token"], bool(chat["add_bos_token"])
        self._tok = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        self.vocab = self._tok.get_vocab_size(with_added_tokens=True)
        self.info = EngineInfo(backend, model, fingerprint, n_ctx,
                               extra={"url": self.url, "model_dir": str(model_dir),
                                      "dtype": "float32"})  # fmt: skip
        self.info.extra.update(extra or {})

    # --- text <-> tokens (as llama.cpp and the MLX engine make them) -------------------
    def tokenize(self, text: str) -> list[int]:
        add_bos = self._add_bos and not (self._bos and text.startswith(self._bos))
        return self._tok.encode(text, add_special_tokens=add_bos).ids

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def _model(self, ref: AdapterRef | None) -> str:
        return self.served_name if ref is None else self.adapters.name(ref)

    # --- chat: no engine-wide lock, vLLM batches concurrent requests -------------------
    def chat(self, messages: list[Message], params: GenerationParams | None = None,
             tools: list[dict[str, Any]] | None = None, *, adapter: AdapterRef | None = SLOT,
             fresh: bool = False) -> Stream:  # fmt: skip
        params = replace(params or GenerationParams(), tools=tuple(tools or ()))
        if not params.tools:
            params = replace(params, stop=(*params.stop, OPEN))
        text_messages = to_text_messages(messages, list(params.tools))
        ref = self._adapter if adapter is SLOT else adapter
        stream: Stream

        def pieces() -> Generator[str, None, Usage]:
            return (yield from self._stream(text_messages, params, ref, stream.cancel_event))

        stream = Stream(pieces(), ref.id if ref else None, tools=bool(params.tools))
        return stream

    def _generate(self, messages: list[Message], params: GenerationParams,
                  cancel: threading.Event) -> Generator[str, None, Usage]:  # fmt: skip
        return (yield from self._stream(messages, params, self._live, cancel))

    def _stream(self, messages: list[Message], params: GenerationParams,
                ref: AdapterRef | None, cancel: threading.Event) -> Generator[str, None, Usage]:  # fmt: skip
        prompt = self.tokenize(self.format.render(messages))
        if len(prompt) + 1 > self.info.n_ctx:
            from personal.engine.llama import ContextOverflow

            raise ContextOverflow(f"the prompt is {len(prompt)} tokens; the context holds "
                                  f"{self.info.n_ctx}")  # fmt: skip
        body = {
            "model": self._model(ref), "prompt": prompt, "stream": True,
            "max_tokens": min(params.max_tokens, self.info.n_ctx - len(prompt)),
            "temperature": params.temperature, "top_p": params.top_p,
            "top_k": params.top_k if params.top_k > 0 else -1,
            "repetition_penalty": params.repeat_penalty,
            "stop": sorted({*params.stop, *self.format.stops}),
            "stream_options": {"include_usage": True}, "skip_special_tokens": True,
        }  # fmt: skip
        if params.seed is not None:
            body["seed"] = params.seed
        finish, completion = "stop", 0
        r = open_stream(self.client, self.url + "/v1/completions", body, ref,
                        retries=self.retries)  # fmt: skip
        with contextlib.closing(r):
            for line in r.iter_lines():
                if cancel.is_set():
                    return Usage(len(prompt), completion, "cancelled")  # closing aborts it
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if chunk.get("usage"):
                    completion = chunk["usage"].get("completion_tokens", completion)
                for choice in chunk.get("choices", []):
                    if choice.get("text"):
                        yield choice["text"]
                    if choice.get("finish_reason"):
                        finish = "length" if choice["finish_reason"] == "length" else "stop"
        return Usage(len(prompt), completion, finish)

    # --- measurements --------------------------------------------------------------------
    def next_logprobs(self, messages: list[Message], *, prefix: str = "",
                      adapter: AdapterRef | None = SLOT) -> tuple[list[int], Any]:  # fmt: skip
        """The top `logprobs_top` next-token log-probabilities exactly; the rest of the
        vocabulary shares the remaining mass evenly (vLLM sends logprobs as JSON: the whole
        vocabulary costs ~1.3 s a call, the top 1024 ~0.1 s; Ray Serve's app passes them
        between processes slowly, so it reads the top 64). What the probe check reads — the
        device's top tokens and the host's greedy one — is among them, or has a mass too
        small to move its figures."""
        ref = self._adapter if adapter is SLOT else adapter
        ids = self.tokenize(self.format.render(messages) + prefix)
        body = {"model": self._model(ref), "prompt": ids, "max_tokens": 1, "temperature": 0.0,
                "logprobs": self.logprobs_top, "return_tokens_as_token_ids": True}  # fmt: skip
        r = self.client.post(self.url + "/v1/completions", json=body)
        if r.status_code != 200:
            raise _error(r, ref)
        top = r.json()["choices"][0]["logprobs"]["top_logprobs"][0]
        found = {int(key.split(":", 1)[1]): value for key, value in top.items()}
        size = max(self.vocab, max(found) + 1)
        rest = max(1.0 - float(np.exp(list(found.values())).sum()), 1e-30)
        row = np.full(size, np.log(rest / max(size - len(found), 1)))
        row[list(found)] = list(found.values())
        return ids, row

    # --- residency: the host's Residency calls these -------------------------------------
    def preload(self, ref: AdapterRef) -> None:
        self.adapters.load(ref)

    def evict(self, ref: AdapterRef) -> None:
        self.adapters.unload(ref)

    def _attach(self, ref: AdapterRef) -> None:
        self.adapters.load(ref)

    def close(self) -> None:
        self.client.close()


def open_stream(client: httpx.Client, url: str, body: dict[str, Any], ref: AdapterRef | None,
                *, retries: int = 0, wait_s: float = 0.5) -> httpx.Response:  # fmt: skip
    """POST `body` for a streamed answer; the open 200 response (close it). An answer that
    fails with a 5xx before any output is asked for again, up to `retries` times."""
    for attempt in range(retries + 1):
        r = client.send(client.build_request("POST", url, json=body), stream=True)
        if r.status_code == 200:
            return r
        try:
            r.read()
        finally:
            r.close()
        if r.status_code < 500 or attempt == retries:
            raise _error(r, ref)
        log.warning("vLLM answered %d before any output; asking again (%d of %d): %s",
                    r.status_code, attempt + 1, retries, _message(r))  # fmt: skip
        time.sleep(wait_s * (attempt + 1))
    raise AssertionError("unreachable")


def _message(r: httpx.Response) -> str:
    try:
        body = r.json()
        return str(body.get("error", {}).get("message") or body.get("detail") or body)[:300]
    except ValueError:
        return r.text[:300]


def _error(r: httpx.Response, ref: AdapterRef | None) -> EngineError:
    if r.status_code == 404 and ref is not None:
        return AdapterError(f"the engine does not know this revision's adapter: {_message(r)}")
    return EngineError(f"vLLM answered {r.status_code}: {_message(r)}")
