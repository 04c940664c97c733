"""The default engine: a quantized GGUF run by llama.cpp (llama-cpp-python).

Generation drives `Llama.generate` directly (no completion wrapper) so that per-token
overhead stays near a raw loop, cancellation is checked between tokens, and stop strings
are handled on decoded text. Adapters use llama.cpp's low-level LoRA API on the live
context (llama_lora.py); the base model is never reloaded.
"""

from __future__ import annotations

import codecs
import json
import os
import threading
from collections.abc import Generator
from typing import Any

from personal.engine.base import (
    SLOT,
    AdapterRef,
    Completion,
    Engine,
    EngineInfo,
    GenerationParams,
    Message,
    Usage,
)
from personal.engine.llama_lora import LoraSlots
from personal.engine.prompt import ChatFormat
from personal.engine.stops import StopFilter
from personal.engine.toolcall import CLOSE, OPEN, call_schema, to_text_messages
from personal.errors import EngineError, EngineUnavailable, ModelCorrupt
from personal.models.catalog import BaseModel


def import_llama_cpp() -> Any:
    """Import llama_cpp with OMP_WAIT_POLICY=PASSIVE already in the environment.

    With OpenMP's default (active) waiting, 2 threads under any other load collapsed from
    ~50 tok/s to under 1 tok/s; the policy is read when the library loads.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import llama_cpp
    except ImportError as e:  # pragma: no cover - depends on the install
        raise EngineUnavailable(
            f"llama-cpp-python is not importable: {e}",
            hint="run the set-up again: ./dev setup",
        ) from e
    # Loading a model compiles every chat template in its GGUF for llama-cpp-python's own
    # chat API, which personal never calls (prompts are rendered, bounded, by prompt.py).
    # Jinja folds constants while compiling, so a template holding `9 ** 99999999` hung
    # the load itself: the templates are not compiled there at all.
    llama_cpp.llama_chat_format.Jinja2ChatFormatter = _UnusedFormatter
    return llama_cpp


class _UnusedFormatter:
    """Stands in for llama-cpp-python's template compiler (see `import_llama_cpp`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def to_chat_handler(self) -> Any:
        def handler(*args: Any, **kwargs: Any) -> Any:
            raise EngineError("personal renders chat prompts itself (personal.engine.prompt)")

        return handler


class ContextOverflow(EngineError):
    pass


RESIDENT_ADAPTERS = 4
BATCH_SEQS, BATCH_CTX = 16, 8192  # the learning loop's batched generations
MAX_CALL_TOKENS = 256  # a tool call's JSON longer than this is cut off (and reported)


def call_grammar(schema: str) -> str:
    """GBNF for one tool call. llama-cpp-python's converter lets raw control characters
    (a newline) into JSON strings, which is not JSON; exclude them, as llama.cpp does."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    # "name" first, as calls are rendered everywhere else (the converter sorts otherwise)
    gbnf = json_schema_to_gbnf(schema, prop_order=["name", "arguments"])
    loose = 'char ::= [^"\\\\]'
    assert loose in gbnf, "llama-cpp-python's JSON grammar changed: review call_grammar"
    return gbnf.replace(loose, 'char ::= [^"\\\\\\x7F\\x00-\\x1F]')


def _sampling(params: GenerationParams) -> dict[str, Any]:
    return {
        "top_k": params.top_k,
        "top_p": params.top_p,
        "temp": params.temperature,
        "repeat_penalty": params.repeat_penalty,
    }


def default_threads() -> int:
    return max(1, min(8, os.cpu_count() or 2))


class LlamaEngine(LoraSlots, Engine):
    """`LlamaEngine(model)`: load a catalog BaseModel with llama.cpp."""

    forces_tools = True
    batch_slots = BATCH_SEQS

    def __init__(
        self,
        model: BaseModel,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int | None = None,
        verbose: bool = False,
        logits_all: bool = False,
        resident: int | None = RESIDENT_ADAPTERS,
    ):
        """`resident`: adapters kept loaded, least recently used freed first; None: no
        limit here — the caller decides with `preload` and `evict` (a host's residency)."""
        super().__init__()
        llama_cpp = import_llama_cpp()
        self._lib = llama_cpp
        n_threads = n_threads or default_threads()
        n_ctx = min(n_ctx, model.context_length)
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(model.path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                seed=seed if seed is not None else llama_cpp.LLAMA_DEFAULT_SEED,
                verbose=verbose,
                logits_all=logits_all,  # not needed by `score`; keeps n_ctx × vocab floats
            )
        except (ValueError, RuntimeError) as e:
            raise ModelCorrupt(
                f"llama.cpp could not load {model.path.name}: {e}",
                hint="the file may be truncated or corrupt; reinstall the model package",
            ) from e
        self.load_count = 1  # the base is loaded exactly once per engine (swaps don't reload)
        self._model = model
        self._vocab = self._llm._model.vocab
        self.format = ChatFormat.from_metadata(
            model.chat_template, self._token_text(self._llm.token_bos()),
            self._token_text(self._llm.token_eos()),
        )  # fmt: skip
        self._resident: dict[tuple[str, int, int], Any] = {}  # loaded adapter handles
        self._active: tuple[str, int, int] | None = None
        self.resident_limit = resident
        self._grammars: dict[str, Any] = {}
        self._batch: Any = None  # a second context for chat_many, made on first use
        self.info = EngineInfo(
            backend="llama.cpp",
            model=model.name,
            fingerprint=model.fingerprint,
            n_ctx=n_ctx,
            extra={"n_threads": n_threads, "path": str(model.path)},
        )

    # --- text <-> tokens -------------------------------------------------------------
    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llm._model.token_get_text(token)

    def tokenize(self, text: str) -> list[int]:
        # A template that writes the BOS itself must not get a second one.
        bos = self.format.bos_token
        add_bos = self._llm._model.add_bos_token() and not (bos and text.startswith(bos))
        return self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def prompt_tokens(self, messages: list[Message]) -> list[int]:
        return self.tokenize(self.format.render(messages))

    # --- generation -----------------------------------------------------------------
    def _generate(
        self, messages: list[Message], params: GenerationParams, cancel: threading.Event
    ) -> Generator[str, None, Usage]:
        prompt = self.format.render(messages)
        tokens = self._fitting(self.tokenize(prompt))
        budget = min(params.max_tokens, self.info.n_ctx - len(tokens))
        if params.seed is not None:
            self._llm.set_seed(params.seed)
        # With tools, the start of a call switches to grammar-constrained completion.
        text = StopFilter(tuple(params.stop) + self.format.stops + ((OPEN,) if params.tools else ()))
        calls = bool(params.tools)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        produced, finish, emitted = 0, "length", []
        if calls and params.force_tool:  # the answer is a call: start it under the grammar
            yield OPEN + "\n"
            produced = yield from self._complete_call(prompt + OPEN + "\n", params, cancel)
            return Usage(len(tokens), produced, "tool_calls")
        for token in self._llm.generate(tokens, **_sampling(params)):
            if cancel.is_set():
                finish = "cancelled"
                break
            if self._lib.llama_vocab_is_eog(self._vocab, token):
                finish = "eog"  # end of turn: text held back for a possible stop is real
                break
            produced += 1
            piece, stop = text.feed(decoder.decode(self._llm.detokenize([token])))
            if piece:
                emitted.append(piece)
                yield piece
            if stop == OPEN and calls:
                prefix = prompt + "".join(emitted) + OPEN + "\n"
                yield OPEN + "\n"
                produced += yield from self._complete_call(prefix, params, cancel)
                return Usage(len(tokens), produced, "tool_calls")
            if stop is not None:
                finish = "stop"
                break
            if produced >= budget:
                break
        if finish != "stop":
            tail = text.flush(decoder.decode(b"", final=True))
            if tail:
                yield tail
        return Usage(len(tokens), produced, "stop" if finish == "eog" else finish)

    def _fitting(self, tokens: list[int]) -> list[int]:
        if len(tokens) >= self.info.n_ctx:
            raise ContextOverflow(
                f"the conversation is {len(tokens)} tokens; the context holds {self.info.n_ctx}",
                hint="start a new conversation, or load the model with a larger context",
            )
        return tokens

    def _grammar(self, tools: list[dict[str, Any]]) -> Any:
        schema = json.dumps(call_schema(tools), sort_keys=True)
        grammar = self._grammars.get(schema)
        if grammar is None:
            grammar = self._lib.LlamaGrammar.from_string(call_grammar(schema), verbose=False)
            self._grammars[schema] = grammar
        return grammar

    def check_tools(self, tools: list[dict[str, Any]]) -> None:
        """Build (and cache) the call grammar now, so a schema it cannot express is refused
        before generation rather than in the middle of an answer."""
        try:
            self._grammar(tools)
        except Exception as e:  # the converter raises many kinds for schemas it lacks
            raise ValueError(f"the call grammar cannot express these tools' schemas: {e}") from e

    def _forget_prefix(self) -> None:
        self.reset()

    def _complete_call(
        self, prefix: str, params: GenerationParams, cancel: threading.Event
    ) -> Generator[str, None, int]:
        """Finish a started tool call under a grammar that admits only a valid call."""
        grammar = self._grammar(list(params.tools))
        tokens = self._fitting(self.tokenize(prefix))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        produced = 0
        for token in self._llm.generate(tokens, temp=0.0, grammar=grammar):
            if cancel.is_set() or self._lib.llama_vocab_is_eog(self._vocab, token):
                break
            produced += 1
            yield decoder.decode(self._llm.detokenize([token]))
            if produced >= MAX_CALL_TOKENS or len(tokens) + produced >= self.info.n_ctx:
                break  # a truncated call is reported by the parser, not hidden
        yield "\n" + CLOSE
        return produced

    def reset(self) -> None:
        """Forget the KV/prefix cache (required after an adapter swap)."""
        self._llm.reset()

    # --- many at once (the learning loop) -----------------------------------------------
    def chat_many(
        self, conversations: list[list[Message]], params: GenerationParams | None = None,
        tools: list[dict[str, Any]] | None = None, *, adapter: AdapterRef | None = SLOT,
        seeds: list[int | None] | None = None, until: list[tuple[str, ...]] | None = None,
    ) -> list[Completion]:  # fmt: skip
        """`Engine.chat_many`, decoded BATCH_SEQS at a time in a second context (see
        engine/batch.py), each answer ending at the first of its `until` strings. A
        conversation too long for the context gets an empty answer with finish reason
        "overflow"."""
        from personal.engine.batch import BatchContext

        params = params or GenerationParams()
        schemas = list(tools or [])
        # without tools a call ends the answer; with tools it starts one (batch.py)
        stops = (*params.stop, *self.format.stops, OPEN)
        with self._lock:
            ref = self._adapter if adapter is SLOT else adapter
            self._use(ref)
            if self._batch is None:
                self._batch = BatchContext(self._lib, self._llm._model.model, self._vocab,
                                           n_seq=BATCH_SEQS, n_ctx=BATCH_CTX,
                                           n_threads=self.info.extra["n_threads"])  # fmt: skip
            handle = self._resident.get(self._active) if self._active else None
            self._batch.set_adapter(handle, ref.scale if ref else 0.0)
            prompts = [self.tokenize(self.format.render(to_text_messages(m, schemas)))
                       for m in conversations]  # fmt: skip
            fits = [i for i, p in enumerate(prompts)
                    if len(p) + params.max_tokens < min(self.info.n_ctx, BATCH_CTX // 2)]  # fmt: skip
            done = self._batch.run([prompts[i] for i in fits], params, stops,
                                   lambda t: self._llm.detokenize([t]), bool(schemas),
                                   [(seeds or [params.seed] * len(prompts))[i] for i in fits],
                                   [until[i] for i in fits] if until else None)  # fmt: skip
        out = [Completion("", Usage(len(p), 0, "overflow"), None, 0.0, None) for p in prompts]
        for i, completion in zip(fits, done, strict=True):
            completion.adapter = ref.id if ref else None
            out[i] = completion
        return out

    # --- scoring (the evaluation gate) ------------------------------------------------
    def score(self, prompt: str, completion: str, *, adapter: AdapterRef | None = SLOT
              ) -> list[float]:  # fmt: skip
        """Teacher-forced log-probabilities (natural log) of `completion`'s tokens after
        `prompt`, under the attached adapter (or `adapter`): one decode, logits asked for at
        the answer's positions only (no `logits_all` needed). The prompt is tokenized as
        `_generate` tokenizes it and the completion on its own (as the trainer does); the
        common prefix with the previous evaluation is reused from the KV cache, as
        `generate` does."""
        return [lp for lp, _ in self.score_detail(prompt, completion, adapter=adapter)]

    def score_detail(self, prompt: str, completion: str, *, adapter: AdapterRef | None = SLOT
                     ) -> list[tuple[float, bool]]:  # fmt: skip
        """`score`, with whether each token was the model's greedy choice at its position
        (a greedy continuation reproduces `completion` exactly while all are True)."""
        import numpy as np

        with self._lock:
            self._use(self._adapter if adapter is SLOT else adapter)
            llm = self._llm
            p = self.tokenize(prompt)
            c = llm.tokenize(completion.encode("utf-8"), add_bos=False, special=True)
            tokens = self._fitting(p + c)
            if not c or not p:
                return []
            keep = 0
            for a, b in zip(llm._input_ids.tolist(), tokens[: len(p) - 1], strict=False):
                if a != b:
                    break
                keep += 1
            llm._ctx.kv_cache_seq_rm(-1, keep, -1)
            llm.n_tokens = keep
            first, out, n_vocab = len(p) - 1, [], llm.n_vocab()
            for start in range(keep, len(tokens), llm.n_batch):
                chunk = tokens[start : start + llm.n_batch]
                llm._batch.set_batch(batch=chunk, n_past=start, logits_all=False)
                wanted = [i for i in range(len(chunk)) if first <= start + i < len(tokens) - 1]
                for i in wanted:
                    llm._batch.batch.logits[i] = True
                llm._ctx.decode(llm._batch)
                llm.input_ids[start : start + len(chunk)] = chunk
                llm.n_tokens = start + len(chunk)
                for i in wanted:
                    row = np.ctypeslib.as_array(llm._ctx.get_logits_ith(i), shape=(n_vocab,))
                    top = float(row.max())
                    norm = top + float(np.log(np.exp(row - top).sum()))
                    wanted_token = tokens[start + i + 1]
                    out.append((float(row[wanted_token]) - norm,
                                int(row.argmax()) == wanted_token))  # fmt: skip
            llm._requires_eval = True  # the next generate replays a token for fresh logits
            return out

    def next_logprobs(
        self, messages: list[Message], *, prefix: str = "", adapter: AdapterRef | None = SLOT
    ) -> tuple[list[int], Any]:
        import numpy as np

        with self._lock:
            self._use(self._adapter if adapter is SLOT else adapter)
            tokens = self._fitting(self.tokenize(self.format.render(messages) + prefix))
            llm = self._llm
            llm.reset()  # a measurement: nothing cached from another request or adapter
            llm._ctx.kv_cache_clear()
            for start in range(0, len(tokens), llm.n_batch):
                chunk = tokens[start : start + llm.n_batch]
                llm._batch.set_batch(batch=chunk, n_past=start, logits_all=False)
                llm._ctx.decode(llm._batch)
            row = np.ctypeslib.as_array(llm._ctx.get_logits_ith(len(chunk) - 1),
                                        shape=(llm.n_vocab(),)).astype(np.float64)  # fmt: skip
            llm.reset()
            llm._ctx.kv_cache_clear()
            top = row.max()
            return tokens, row - top - np.log(np.exp(row - top).sum())

    def close(self) -> None:
        with self._lock:
            if getattr(self, "_batch", None) is not None:
                self._batch.close()
                self._batch = None
            if getattr(self, "_llm", None) is not None:
                self._llm.close()
                self._llm = None  # type: ignore[assignment]
            self._resident.clear()  # llama.cpp frees a model's adapters with the model
