"""Shared-prefix batches: compute the common start of a batch's examples once.

Every training example begins with the same system prompt and tool block (~200 of ~250
prompt tokens). Run that prefix once (batch 1) through the model with a `SharedPrefix`
cache per layer, then run each example's remainder with the prefix's keys and values
broadcast to the batch. Gradients flow through the broadcast, so the result is the same
loss and the same gradients as running every example whole (tested), for a fraction of
the compute.

Only the last few blocks carry LoRA weights; the blocks below them (the trunk) are the
frozen base, so what they make of a prefix never changes during a run. `Trunk` computes
that once per distinct prefix — the trunk's keys and values, and the hidden state handed
to the first adapted block — and each step runs the prefix through the adapted blocks
only (the model's own layer loop, with the trunk's blocks replaying the stored state).
With 3 of 30 blocks adapted, the prefix costs a tenth of what it did.
"""

from __future__ import annotations

from typing import Any

MIN_SHARED = 16  # below this, sharing is not worth a second forward call


class SharedPrefix:
    """A differentiable KV cache for one layer: holds the prefix's keys/values and
    appends the batch's (functional concatenation, no in-place writes)."""

    def __init__(self) -> None:
        self.keys: Any = None
        self.values: Any = None
        self.offset = 0

    def update_and_fetch(self, keys: Any, values: Any) -> tuple[Any, Any]:
        import mlx.core as mx

        if self.keys is None:
            self.keys, self.values = keys, values
        else:
            b = keys.shape[0]
            old_k = mx.broadcast_to(self.keys, (b, *self.keys.shape[1:]))
            old_v = mx.broadcast_to(self.values, (b, *self.values.shape[1:]))
            self.keys = mx.concatenate([old_k, keys], axis=2)
            self.values = mx.concatenate([old_v, values], axis=2)
        self.offset += keys.shape[2]
        return self.keys, self.values

    def make_mask(self, n: int, return_array: bool = False, window_size: int | None = None) -> Any:
        """Causal over prefix + new tokens: new token i sees keys 0 .. offset + i."""
        if self.offset == 0:
            return "causal" if n > 1 and not return_array and not window_size else (
                _causal(n, 0, window_size))  # fmt: skip
        return _causal(n, self.offset, window_size)

    @property
    def state(self) -> Any:  # some model code inspects it; nothing to persist
        return self.keys, self.values


def _causal(n: int, offset: int, window: int | None) -> Any:
    import mlx.core as mx

    q = mx.arange(offset, offset + n)[:, None]
    k = mx.arange(offset + n)[None, :]
    mask = k <= q
    if window:
        mask = mask & (k > q - window)
    return mask


def common_prefix(seqs: list[tuple[int, ...]], limit: int) -> int:
    """Length of the longest start all `seqs` share, at most `limit`."""
    n = 0
    first = seqs[0]
    while n < limit and all(len(s) > n and s[n] == first[n] for s in seqs):
        n += 1
    return n


def forward(model: Any, prefix: Any, inputs: Any, trunk: Trunk | None = None) -> Any:
    """Hidden states for `inputs` (batch, T) continuing `prefix` (1, L); None: no prefix.
    With a `trunk`, the frozen blocks' share of the prefix comes from it."""
    if prefix is None:
        return model.model(inputs)
    inner = model.model
    cache = [SharedPrefix() for _ in inner.layers]
    stored = trunk.get(model, prefix) if trunk is not None else None
    if stored is None:
        inner(prefix, cache=cache)
    else:
        kv, hidden = stored
        blocks = inner.layers  # the adapted blocks only: the frozen ones replay
        _run_with(inner, [*(_Replay(b, hidden) for b in blocks[: len(kv)]), *blocks[len(kv) :]],
                  prefix, cache)  # fmt: skip
        for c, (k, v) in zip(cache, kv, strict=False):
            c.keys, c.values, c.offset = k, v, k.shape[2]
    return inner(inputs, cache=cache)


class Trunk:
    """What the frozen blocks below the first adapted one make of each prefix, computed
    once per run: their keys and values, and that block's input. A few prefixes are kept
    (training batches almost all share the system prompt and tool block)."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self.stored: dict[tuple[int, ...], tuple[list[tuple[Any, Any]], Any]] = {}
        self.frozen: int | None = None  # blocks below the first with trainable weights

    def get(self, model: Any, prefix: Any) -> tuple[list[tuple[Any, Any]], Any] | None:
        """The stored trunk of `prefix` (1, L), computed now if new; None when no block is
        frozen. Call it once outside a gradient transform for a new prefix: computed
        inside one, the trunk's pass is traced too (it doubled a step's peak memory)."""
        import mlx.core as mx

        if self.frozen is None:
            self.frozen = _frozen_blocks(model)
        if not self.frozen:
            return None
        key = tuple(prefix.reshape(-1).tolist())
        if key not in self.stored:
            inner = model.model
            cache = [SharedPrefix() for _ in inner.layers]
            blocks = inner.layers
            tap = _Tap(blocks[self.frozen])
            _run_with(inner, [*blocks[: self.frozen], tap, *blocks[self.frozen + 1 :]], prefix,
                      cache)  # fmt: skip
            kv = [(mx.stop_gradient(c.keys), mx.stop_gradient(c.values))
                  for c in cache[: self.frozen]]  # fmt: skip
            hidden = mx.stop_gradient(tap.seen)
            mx.eval(kv, hidden)
            if len(self.stored) >= self.keep:
                self.stored.pop(next(iter(self.stored)))
            self.stored[key] = (kv, hidden)
        return self.stored[key]


def _run_with(inner: Any, blocks: list[Any], prefix: Any, cache: list[SharedPrefix]) -> None:
    """Run `prefix` through the model's own layer loop with `blocks` standing in for its
    layers (put back afterwards)."""
    layers = inner.layers
    inner.layers = blocks
    try:
        inner(prefix, cache=cache)
    finally:
        inner.layers = layers


def _frozen_blocks(model: Any) -> int:
    from mlx.utils import tree_flatten

    for i, block in enumerate(model.model.layers):
        if tree_flatten(block.trainable_parameters()):
            return i
    return 0


class _Replay:
    """Stands in for a frozen block during a prefix pass: returns the stored hidden state
    (the last frozen block's output) and answers attribute reads as the block would."""

    def __init__(self, block: Any, hidden: Any) -> None:
        self._block, self._hidden = block, hidden

    def __getattr__(self, name: str) -> Any:
        return getattr(self._block, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._hidden


class _Tap(_Replay):
    """The first adapted block, recording its input on the way through."""

    def __init__(self, block: Any) -> None:
        super().__init__(block, None)
        self.seen: Any = None

    def __call__(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        self.seen = x
        return self._block(x, *args, **kwargs)
