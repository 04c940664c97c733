"""A training example as text: the one place "prompt" and "target" are defined.

The trainer learns, and the evaluation gate scores, exactly the completion the chat engine
would have to produce: the prompt is what `ChatFormat.render` shows the model for the
conversation so far (tools described by `to_text_messages`, generation prompt added); the
completion is the rest of the full render, end-of-turn marker included, so the adapter
learns to stop.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from personal.engine.prompt import ChatFormat
from personal.engine.toolcall import to_text_messages
from personal.errors import NotEnoughData, TrainingError


def render_example(fmt: ChatFormat, example: dict[str, Any]) -> tuple[str, str]:
    """(prompt text, completion text) for a dataset line; the completion is the last
    (assistant) message as the template writes it, e.g. "Hi!<|im_end|>\\n"."""
    messages = example.get("messages")
    if not isinstance(messages, list) or len(messages) < 2:
        raise TrainingError(
            "a training example needs at least two messages (a prompt and an answer)",
            hint="check the dataset: every line's `messages` ends with an assistant answer",
        )
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        raise TrainingError("every message of a training example must be an object with a role")
    if messages[-1]["role"] != "assistant":
        raise TrainingError(
            "a training example must end with an assistant message (the trained target)",
            hint="check the dataset: the last message of every line is the answer to learn",
        )
    tools = example.get("tools") or None
    prompt = fmt.render(to_text_messages(messages[:-1], tools), add_generation_prompt=True)
    full = fmt.render(to_text_messages(messages, tools), add_generation_prompt=False)
    if not full.startswith(prompt):
        # Some templates rewrite earlier turns when an answer follows (e.g. drop reasoning):
        # then no completion exists that the chat engine could have produced.
        raise TrainingError(
            "the chat template renders the conversation differently once the answer is "
            f"added, so the answer cannot be isolated (prompt ends {prompt[-40:]!r}, "
            f"full text there reads {full[len(prompt) - 40 : len(prompt)]!r})",
            hint="this base model's chat template is not supported for training",
        )
    completion = full[len(prompt) :]
    if not fmt.builtin and fmt.eos_token:
        completion += fmt.eos_token  # a plain transcript has no end-of-turn token of its own
    if not completion.strip():
        raise TrainingError(
            "the assistant answer renders as empty text: nothing to learn",
            hint="drop examples whose last message is empty",
        )
    return prompt, completion


# --- token ids --------------------------------------------------------------------------
@dataclass(frozen=True)
class Encoded:
    """One example as token ids: `ids[:n_prompt]` is masked, the rest is trained."""

    ids: tuple[int, ...]
    n_prompt: int
    weight: float
    truncated: bool = False
    rejected: tuple[int, ...] | None = None  # a correction: the answer rejected for this prompt
    anchor: Any = field(default=None, compare=False, repr=False)  # train/anchor.py: the base's view

    @property
    def n_target(self) -> int:
        return len(self.ids) - self.n_prompt


def encode_example(
    fmt: ChatFormat, tokenize: Callable[[str, bool], list[int]], example: dict[str, Any],
    max_len: int,
) -> Encoded:  # fmt: skip
    """Token ids as the chat engine would see them: the prompt tokenized on its own (as
    llama.cpp tokenizes a prompt), the completion appended as generated tokens would be.
    `tokenize(text, first)` adds the BOS only when `first`. An example longer than
    `max_len` loses the start of its prompt (the answer is what is learned), and the end
    of an answer that alone is too long."""
    prompt, completion = render_example(fmt, example)
    p, c = tokenize(prompt, True), tokenize(completion, False)
    truncated = len(p) + len(c) > max_len
    if truncated:
        c = c[: max_len - 1]
        p = p[len(p) - (max_len - len(c)) :]
    weight = example.get("weight", 1.0)
    if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
        raise TrainingError(f"an example's weight must be a number >= 0, got {weight!r}")
    rejected = None
    if example.get("rejected") is not None:
        if not isinstance(example["rejected"], str) or not example["rejected"].strip():
            raise TrainingError("a correction's rejected answer must be non-empty text")
        other = {**example, "messages": [*example["messages"][:-1],
                                         {"role": "assistant", "content": example["rejected"]}]}  # fmt: skip
        rejected = tuple(tokenize(render_example(fmt, other)[1], False)[: max(1, max_len - len(p))])
    return Encoded(tuple(p + c), len(p), float(weight), truncated, rejected)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Dataset lines; a malformed line is an error naming the file and line."""
    out = []
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines: U+2028 in JSON
    except (OSError, UnicodeDecodeError) as e:
        raise TrainingError(f"cannot read {path}: {e}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as e:
            raise TrainingError(f"{path}:{n}: not valid JSON ({e})") from None
        if not isinstance(item, dict):
            raise TrainingError(f"{path}:{n}: a dataset line must be a JSON object")
        out.append(item)
    return out


def encode_file(
    path: Path, fmt: ChatFormat, tokenize: Callable[[str, bool], list[int]], max_len: int,
    *, required: bool,
) -> list[Encoded]:  # fmt: skip
    """The trainable examples of a dataset split (weight > 0 and at least one target
    token). A required split with none is NotEnoughData: nothing would be learned."""
    if not path.is_file():
        if required:
            raise TrainingError(f"the dataset has no {path.name}: {path}")
        return []
    out = []
    for n, example in enumerate(read_jsonl(path), 1):
        try:
            encoded = encode_example(fmt, tokenize, example, max_len)
        except TrainingError as e:
            raise TrainingError(f"{path}:{n}: {e.message}", hint=e.hint) from None
        if encoded.weight > 0 and encoded.n_target > 0:
            out.append(encoded)
    if required and not out:
        raise NotEnoughData(
            f"{path} has no trainable tokens (no example with an answer and weight > 0)",
            hint="collect more conversations (or feedback) before training",
        )
    return out


@lru_cache(maxsize=4)
def _epoch_order(seed: int, epoch: int, n: int) -> tuple[int, ...]:
    return tuple(int(i) for i in np.random.default_rng([seed, epoch]).permutation(n))


def batch_indices(step: int, n: int, batch_size: int, seed: int) -> list[int]:
    """The examples of optimizer step `step`: consecutive slices of a fresh shuffle per
    epoch. A pure function of (seed, step), so a resumed run sees the same batches."""
    first = step * batch_size
    return [_epoch_order(seed, k // n, n)[k % n] for k in range(first, first + batch_size)]
