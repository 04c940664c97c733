"""Many greedy or sampled generations in one llama.cpp batch (the teacher, the gate).

The learning loop asks the base model hundreds of short questions that share a long
prefix (the system prompt with its tool list). One at a time, each token of each answer is
a pass over the weights; here up to `n_seq` answers advance together — one pass per step
for all of them — and the shared prefix is evaluated once and copied to every sequence
(llama.cpp shares the cells). Measured side by side: benchmarks/learning_stages.py.

Generation here is what `Engine.chat` does, minus the interactive parts: stop strings and
end-of-generation tokens end a sequence; `max_tokens` bounds it; with tools, a started
call is generated freely up to its closing tag (no grammar — `toolcall.parse` reports a
malformed one) instead of under a grammar. Sampling: greedy at temperature 0, else
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


class BatchContext:
    """A second llama.cpp context on an engine's model, with room for `n_seq` sequences."""

    def __init__(self, lib: Any, model: Any, vocab: Any, *, n_seq: int, n_ctx: int,
                 n_threads: int) -> None:  # fmt: skip
        self.lib, self.vocab, self.n_seq, self.n_ctx = lib, vocab, n_seq, n_ctx
        params = lib.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch = n_ctx, 1024, 512
        params.n_seq_max, params.kv_unified = n_seq, True
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
    def _decode(self, items: list[tuple[int, int, int, bool]]) -> dict[int, int]:
        """Decode (token, pos, seq, want_logits) items in chunks; {seq: logits row}."""
        rows: dict[int, int] = {}
        b = self.batch
        for start in range(0, len(items), 1024):
            b.n_tokens = 0
            for token, pos, seq, logits in items[start : start + 1024]:
                i = b.n_tokens
                b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, 1, logits
                b.seq_id[i][0] = seq
                if logits:
                    rows[seq] = i
                b.n_tokens += 1
            if self.lib.llama_decode(self.ctx, b) != 0:
                raise RuntimeError("llama.cpp could not decode the batch (out of context?)")
        return rows

    def _logits(self, row: int) -> np.ndarray:
        ptr = self.lib.llama_get_logits_ith(self.ctx, row)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).astype(np.float32)

    def run(self, prompts: list[list[int]], params: GenerationParams, stops: tuple[str, ...],
            detok: Callable[[int], bytes], tools: bool,
            seeds: list[int | None]) -> list[Completion]:  # fmt: skip
        """Completions for token prompts, in their order."""
        out: list[Completion | None] = [None] * len(prompts)
        order = sorted(range(len(prompts)), key=lambda i: prompts[i])  # neighbours share more
        group: list[int] = []
        for i in order:
            full = len(group) == self.n_seq
            if group and (full or not self._fits(prompts, [*group, i], params.max_tokens)):
                self._group(prompts, group, params, stops, detok, tools, seeds, out)
                group = []
            group.append(i)
        if group:
            self._group(prompts, group, params, stops, detok, tools, seeds, out)
        return [c for c in out if c is not None]

    def _fits(self, prompts: list[list[int]], group: list[int], max_tokens: int) -> bool:
        budget = max_tokens + (MAX_CALL_TOKENS if max_tokens else 0)
        return sum(len(prompts[i]) + budget for i in group) < self.n_ctx

    def _group(self, prompts: list[list[int]], group: list[int], params: GenerationParams,
               stops: tuple[str, ...], detok: Callable[[int], bytes], tools: bool,
               seeds: list[int | None], out: list[Completion | None]) -> None:  # fmt: skip
        lib = self.lib
        lib.llama_memory_clear(self.mem, True)
        seqs = [_Seq(i, prompts[i], StopFilter(stops),
                     None if params.temperature <= 0 else np.random.default_rng(seeds[i]))
                for i in group]  # fmt: skip
        shared = _common_prefix([s.tokens for s in seqs])
        if shared and len(seqs) > 1:
            self._decode([(t, p, 0, False) for p, t in enumerate(seqs[0].tokens[:shared])])
            for s in range(1, len(seqs)):
                lib.llama_memory_seq_cp(self.mem, 0, s, -1, -1)
        else:
            shared = 0
        items = []
        for k, seq in enumerate(seqs):
            rest = seq.tokens[shared:]
            items += [(t, shared + j, k, j == len(rest) - 1) for j, t in enumerate(rest)]
        rows = self._decode(items)
        pos = {k: len(seq.tokens) for k, seq in enumerate(seqs)}
        live = {k for k, seq in enumerate(seqs)}
        while live:
            step = []
            for k in sorted(live):
                seq = seqs[k]
                token = self._pick(self._logits(rows[k]), seq, params)
                if self._advance(seq, token, detok, tools, params.max_tokens):
                    live.discard(k)
                    continue
                step.append((token, pos[k], k, True))
                pos[k] += 1
            if step:
                rows = self._decode(step)
        for seq in seqs:
            out[seq.index] = _completion(seq, tools)

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
