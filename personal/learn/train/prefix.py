"""Shared-prefix batches: compute the common start of a batch's examples once.

Every training example begins with the same system prompt and tool block (~200 of ~250
prompt tokens). Run that prefix once (batch 1) through the model with a `SharedPrefix`
cache per layer, then run each example's remainder with the prefix's keys and values
broadcast to the batch. Gradients flow through the broadcast, so the result is the same
loss and the same gradients as running every example whole (tested), for a fraction of
the compute.
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


def forward(model: Any, prefix: Any, inputs: Any) -> Any:
    """Hidden states for `inputs` (batch, T) continuing `prefix` (1, L); None: no prefix."""
    if prefix is None:
        return model.model(inputs)
    cache = [SharedPrefix() for _ in model.model.layers]
    model.model(prefix, cache=cache)
    return model.model(inputs, cache=cache)
