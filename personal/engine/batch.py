"""Many greedy or sampled generations in one llama.cpp batch (the teacher, the gate).

The learning loop asks the base model hundreds of short questions that share a long
prefix (the system prompt with its tool list). One at a time, each token of each answer is
a pass over the weights; here up to `n_seq` answers advance together — one pass per step
for all of them — and the prefix all prompts share is evaluated once and copied to every
sequence (llama.cpp shares the cells). Batching is continuous: when an answer ends, the
next prompt takes its slot at once, so a short answer does not leave its slot idle until
the longest of its batch ends (on 2 cores a step for 16 sequences costs 3x one for 1).
Measured side by side: benchmarks/batch_generation.py.

Generation here is what `Engine.chat` does, minus the interactive parts: stop strings and
end-of-generation tokens end a sequence; `max_tokens` bounds it; so does, where the caller
gives them, the first of its `until` strings its text names (engine/mention.py; the gate's
retention answers: once the answer is there, the rest cannot change the verdict); with
tools, a started call is generated freely up to its closing tag (no grammar —
`toolcall.parse` reports a malformed one) instead of under a grammar. Sampling: greedy at temperature 0, else
temperature / top-k / top-p with a repeat penalty over the sequence's own tokens, from a
per-sequence random generator seeded by the request's seed.
"""

from __future__ import annotations

import codecs
import ctypes
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from personal.engine.base import Completion, GenerationParams, Usage
from personal.engine.mention import mentions
from personal.engine.stops import StopFilter
from personal.engine.toolcall import CLOSE, OPEN, parse

MAX_CALL_TOKENS = 64  # after a started call: enough for a name and short arguments
REPEAT_WINDOW = 64


@dataclass
class _Seq:
    index: int  # position in the caller's list
    tokens: list[int]
    stops: StopFilter
    rng: np.random.Generator | None
    decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace"))
    out: list[int] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    in_call: int = -1  # tokens generated since a call started (-1: none)
    finish: str | None = None
    until: tuple[str, ...] = ()  # casefolded; the first found in the text ends it


class BatchContext:
    """A second llama.cpp context on an engine's model, with room for `n_seq` sequences
    (and one more that holds their shared prefix)."""

    def __init__(self, lib: Any, model: Any, vocab: Any, *, n_seq: int, n_ctx: int,
                 n_threads: int) -> None:  # fmt: skip
        self.lib, self.vocab, self.n_seq, self.n_ctx = lib, vocab, n_seq, n_ctx
        params = lib.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch = n_ctx, 1024, 512
        params.n_seq_max, params.kv_unified = n_seq + 1, True  # + the shared prefix
        params.flash_attn_type = 0  # as the chat context: "auto" (flash) moved logits by up to 1
        params.n_threads = params.n_threads_batch = n_threads
        self.ctx = lib.llama_init_from_model(model, params)
        if not self.ctx:
            raise MemoryError("llama.cpp could not create a batch context")
        self.mem = lib.llama_get_memory(self.ctx)
        self.batch = lib.llama_batch_init(1024, 0, n_seq)
        self.n_vocab = lib.llama_vocab_n_tokens(vocab)

    def close(self) -> None:
        if self.ctx:
            self.lib.llama_batch_free(self.batch)
            self.lib.llama_free(self.ctx)
            self.ctx = None

    def set_adapter(self, handle: Any, scale: float) -> None:
        lib = self.lib
        if handle is None:
            rc = lib.llama_set_adapters_lora(self.ctx, None, 0, None)
        else:
            arr = (lib.llama_adapter_lora_p_ctypes * 1)(handle)
            rc = lib.llama_set_adapters_lora(self.ctx, arr, 1, (ctypes.c_float * 1)(scale))
        if rc != 0:
            raise RuntimeError(f"llama.cpp could not set the batch context's adapter ({rc})")

    # --- decoding ------------------------------------------------------------------------
    def _decode(self, items: list[tuple[int, int, int, bool]]) -> dict[int, np.ndarray]:
        """Decode (token, pos, seq, want_logits) items in chunks; {seq: its logits}, copied
        out after each chunk (the next chunk's decode overwrites them)."""
        out: dict[int, np.ndarray] = {}
        b = self.batch
        for start in range(0, len(items), 1024):
            b.n_tokens = 0
            wanted = []
            for token, pos, seq, logits in items[start : start + 1024]:
                i = b.n_tokens
                b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, 1, logits
                b.seq_id[i][0] = seq
                if logits:
                    wanted.append((seq, i))
                b.n_tokens += 1
            if self.lib.llama_decode(self.ctx, b) != 0:
                raise RuntimeError("llama.cpp could not decode the batch (out of context?)")
            out.update((seq, self._logits(i)) for seq, i in wanted)
        return out

    def _logits(self, row: int) -> np.ndarray:
        ptr = self.lib.llama_get_logits_ith(self.ctx, row)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).astype(np.float32)

    def run(self, prompts: list[list[int]], params: GenerationParams, stops: tuple[str, ...],
            detok: Callable[[int], bytes], tools: bool, seeds: list[int | None],
            until: list[tuple[str, ...]] | None = None) -> list[Completion]:  # fmt: skip
        """Completions for token prompts, in their order (`until[i]`: see the module
        docstring). Continuous: a sequence that ends frees its slot for the next prompt,
        so the batch stays full while prompts remain."""
        lib = self.lib
        lib.llama_memory_clear(self.mem, True)
        out: list[Completion | None] = [None] * len(prompts)
        queue = sorted(range(len(prompts)), key=lambda i: prompts[i], reverse=True)
        shared = _common_prefix(prompts) if len(prompts) > 1 else 0
        if shared:  # evaluated once, into its own sequence; each slot starts from a copy
            self._decode([(t, p, self.n_seq, False) for p, t in enumerate(prompts[0][:shared])])
        budget = params.max_tokens + (MAX_CALL_TOKENS if params.max_tokens else 0)
        live: dict[int, _Seq] = {}  # slot -> its sequence
        cells: dict[int, int] = {}  # slot -> the cells it may come to hold
        pos: dict[int, int] = {}
        free = list(range(self.n_seq - 1, -1, -1))
        step: list[tuple[int, int, int, bool]] = []
        while queue or live:
            while queue and free:  # start what fits beside the live ones
                i = queue[-1]
                need = len(prompts[i]) - shared + budget
                if live and shared + sum(cells.values()) + need > self.n_ctx:
                    break
                queue.pop()
                k = free.pop()
                if shared:
                    lib.llama_memory_seq_cp(self.mem, self.n_seq, k, -1, -1)
                live[k] = _Seq(i, prompts[i], StopFilter(stops),
                               None if params.temperature <= 0 else np.random.default_rng(seeds[i]),
                               until=tuple(u.casefold() for u in (until[i] if until else ()) if u))  # fmt: skip
                cells[k], pos[k] = need, len(prompts[i])
                rest = prompts[i][shared:]
                step += [(t, shared + j, k, j == len(rest) - 1) for j, t in enumerate(rest)]
            logits = self._decode(step)
            step = []
            for k in sorted(live):
                seq = live[k]
                token = self._pick(logits[k], seq, params)
                if self._advance(seq, token, detok, tools, params.max_tokens):
                    out[seq.index] = _completion(seq, tools)
                    del live[k], cells[k]
                    lib.llama_memory_seq_rm(self.mem, k, -1, -1)
                    free.append(k)
                    continue
                step.append((token, pos[k], k, True))
                pos[k] += 1
        return [c for c in out if c is not None]

    def _pick(self, logits: np.ndarray, seq: _Seq, params: GenerationParams) -> int:
        if params.repeat_penalty and params.repeat_penalty != 1.0 and seq.out:
            recent = np.unique(np.asarray(seq.out[-REPEAT_WINDOW:]))
            vals = logits[recent]
            logits[recent] = np.where(vals > 0, vals / params.repeat_penalty,
                                      vals * params.repeat_penalty)  # fmt: skip
        if seq.rng is None:
            return int(logits.argmax())
        logits = logits / max(params.temperature, 1e-6)
        top = np.argpartition(-logits, min(params.top_k, len(logits) - 1))[: params.top_k]
        top = top[np.argsort(-logits[top])]
        probs = np.exp(logits[top] - logits[top[0]])
        probs /= probs.sum()
        keep = int(np.searchsorted(np.cumsum(probs), params.top_p) + 1)
        probs = probs[:keep] / probs[:keep].sum()
        return int(top[seq.rng.choice(len(probs), p=probs)])

    def _advance(self, seq: _Seq, token: int, detok: Callable[[int], bytes], tools: bool,
                 max_tokens: int) -> bool:  # fmt: skip
        """Take `token`; True when the sequence has ended."""
        if self.lib.llama_vocab_is_eog(self.vocab, token):
            seq.finish = "stop" if seq.in_call < 0 else "tool_calls"
            return True
        seq.out.append(token)
        piece = seq.decoder.decode(detok(token))
        seq.raw.append(piece)
        if seq.in_call >= 0:
            seq.in_call += 1
            if CLOSE in "".join(seq.raw[-8:]) or seq.in_call >= MAX_CALL_TOKENS:
                seq.finish = "tool_calls"
                return True
            return False
        shown, stop = seq.stops.feed(piece)
        seq.text.append(shown)
        if stop == OPEN and tools:
            seq.in_call = 0
            return False
        if stop is not None:
            seq.finish = "stop"
            return True
        if seq.until and shown and mentions("".join(seq.text), seq.until, complete=False):
            seq.finish = "stop"
            seq.text.append(seq.stops.flush())
            return True
        if len(seq.out) >= max_tokens:
            seq.finish = "length"
            seq.text.append(seq.stops.flush())
            return True
        return False


def _common_prefix(seqs: list[list[int]]) -> int:
    """Tokens all sequences share, stopping before any sequence's last token (its logits
    must come from a decode of its own)."""
    limit = min(len(s) for s in seqs) - 1
    n = 0
    while n < limit and all(s[n] == seqs[0][n] for s in seqs):
        n += 1
    return n


def _completion(seq: _Seq, tools: bool) -> Completion:
    raw = "".join(seq.raw)
    text = "".join(seq.text)
    parsed = parse(raw) if tools and seq.in_call >= 0 else None
    finish = seq.finish or "length"
    if parsed is not None and not parsed.calls:
        finish = "tool_calls" if parsed.errors else finish
    return Completion(
        text=text, usage=Usage(len(seq.tokens), len(seq.out), finish), ttft_ms=None,
        duration_ms=0.0, adapter=None, tool_calls=parsed.calls if parsed else [],
        tool_errors=parsed.errors if parsed else [], raw=raw,
    )  # fmt: skip
