"""Turning chat messages into the exact prompt text a model sees.

Both engines render prompts here, with the model's own chat template (read from its GGUF),
so inference and training see byte-identical prompts. A base model without a template
(Gemma-3-270M is a pretrained base) gets `PLAIN_TEMPLATE`, a simple transcript format
that completion models continue sensibly.

A chat template is a program that came inside a model file. It runs in Jinja's immutable
sandbox, with the operators that can allocate without bound (`**`, `*`, `+`) checked
first; any failure (division by zero included) is a `ModelError`. A template that is not
one we ship runs in a killable worker process (`personal.isolation`): whatever it
computes, it is stopped after `RENDER_SECONDS` and within the worker's memory cap, and a
prompt longer than `MAX_PROMPT_CHARS` is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from personal import isolation
from personal.errors import ModelError

# A transcript format for base (non-instruct) models; "\nUser:" ends the assistant's turn.
PLAIN_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}{{ m['content'] }}\n\n"
    "{% elif m['role'] == 'user' %}User: {{ m['content'] }}\n"
    "{% elif m['role'] == 'assistant' %}Assistant: {{ m['content'] or '' }}\n"
    "{% elif m['role'] == 'tool' %}Tool result: {{ m['content'] }}\n"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)
PLAIN_STOPS = ("\nUser:", "\nAssistant:", "\nTool result:")
RENDER_SECONDS = 5.0  # a prompt renders in milliseconds; the first worker starts in <1 s
MAX_PROMPT_CHARS = 1 << 20  # far beyond any context window these models have
MAX_ITEMS = 1 << 20  # characters or items one operator may produce
MAX_BITS = 4096  # bits of an integer one operator may produce
# SHA-256 of the templates of the models personal ships (SmolLM2-135M-Instruct's ChatML):
# rendered in this process; any other template runs in a killable worker
SHIPPED_TEMPLATES = frozenset({
    "872be49dbb638044ad01b60388f48d469ff2980e5f0dccdc22ec907db54d0788",
})  # fmt: skip
BROKEN_HINT = "the GGUF's tokenizer.chat_template may be broken or hostile; try another model"


@dataclass(frozen=True)
class ChatFormat:
    """A model's prompt format: its Jinja chat template and the strings that end a turn."""

    template: str
    bos_token: str = ""
    eos_token: str = ""
    stops: tuple[str, ...] = field(default_factory=tuple)
    builtin: bool = True  # False: the model had no template and PLAIN_TEMPLATE is used

    @classmethod
    def from_metadata(cls, template: str | None, bos: str, eos: str) -> ChatFormat:
        if template:
            stops = tuple(s for s in (eos, "<|im_end|>", "<end_of_turn>") if s and s in template)
            return cls(template, bos, eos, stops or ((eos,) if eos else ()))
        return cls(PLAIN_TEMPLATE, bos, eos, PLAIN_STOPS + ((eos,) if eos else ()), False)

    def render(
        self,
        messages: list[dict[str, Any]],
        add_generation_prompt: bool = True,
        tools: list[dict[str, Any]] | None = None,
    ) -> str:
        """The prompt text for `messages` (without a BOS the tokenizer adds itself).
        Raises ModelError when the template fails, runs too long or grows too large."""
        job = (self.template, {
            "messages": messages, "add_generation_prompt": add_generation_prompt,
            "tools": tools, "bos_token": self.bos_token, "eos_token": self.eos_token,
        })  # fmt: skip
        if not self.builtin or _digest(self.template) in SHIPPED_TEMPLATES:
            return render_job(job)
        try:
            return isolation.run(render_job, job, RENDER_SECONDS)
        except isolation.Timeout:
            raise ModelError(f"the model's chat template did not finish within "
                             f"{RENDER_SECONDS:g} s and was stopped", hint=BROKEN_HINT) from None  # fmt: skip
        except (isolation.Died, isolation.Failed) as e:
            raise ModelError(f"the model's chat template failed to render: {e}",
                             hint=BROKEN_HINT) from None  # fmt: skip


def render_job(job: tuple[str, dict[str, Any]]) -> str:
    """Render (template, variables); here or in a worker process."""
    template, variables = job
    try:
        text = _compile(template).render(**variables)
    except RecursionError:
        raise ModelError("the model's chat template recursed too deeply",
                         hint=BROKEN_HINT) from None  # fmt: skip
    except Exception as e:  # TemplateError, ZeroDivisionError, TypeError, MemoryError...
        detail = str(e) if isinstance(e, jinja2.TemplateError) else f"{type(e).__name__}: {e}"
        raise ModelError(f"the model's chat template failed to render: {detail}",
                         hint=BROKEN_HINT) from None  # fmt: skip
    if len(text) > MAX_PROMPT_CHARS:
        raise ModelError(f"the model's chat template made a prompt of {len(text):,} "
                         f"characters (at most {MAX_PROMPT_CHARS:,})", hint=BROKEN_HINT)  # fmt: skip
    return text


@lru_cache(maxsize=8)
def _digest(template: str) -> str:
    return hashlib.sha256(template.encode("utf-8", "surrogatepass")).hexdigest()


def _raise(message: str) -> None:
    raise jinja2.TemplateError(message)


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


class _Bounded(ImmutableSandboxedEnvironment):
    """The sandbox, with the operators that can allocate without bound checked first
    (the sandbox itself already bounds `range` and refuses attribute tricks)."""

    intercepted_binops = frozenset({"**", "*", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        ints = isinstance(left, int) and isinstance(right, int)
        if operator == "**" and ints and right > 0 and abs(left) > 1:
            if right * abs(left).bit_length() > MAX_BITS:
                raise jinja2.TemplateError(f"{left} ** {right} is too large to compute")
        elif operator == "*" and ints:
            if left.bit_length() + right.bit_length() > MAX_BITS:
                raise jinja2.TemplateError("a product too large to compute")
        elif operator == "*":
            count = right if isinstance(right, int) else left if isinstance(left, int) else 0
            size = _size(left) if isinstance(right, int) else _size(right)
            if size is not None and size * max(count, 0) > MAX_ITEMS:
                raise jinja2.TemplateError("a repetition too large to build")
        elif operator == "+" and (_size(left) or 0) + (_size(right) or 0) > MAX_ITEMS:
            raise jinja2.TemplateError("a concatenation too large to build")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=8)
def _compile(template: str) -> jinja2.Template:
    env = _Bounded(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = _strftime_now
    return env.from_string(template)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(str(fmt)[:100])
