"""Turning chat messages into the exact prompt text a model sees.

Both engines render prompts here, with the model's own chat template (read from its GGUF),
so inference and training see byte-identical prompts. A base model without a template
(Gemma-3-270M is a pretrained base) gets `PLAIN_TEMPLATE`, a simple transcript format
that completion models continue sensibly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

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
        """The prompt text for `messages` (without a BOS the tokenizer adds itself)."""
        try:
            return _compile(self.template).render(
                messages=messages,
                add_generation_prompt=add_generation_prompt,
                tools=tools,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
            )
        except jinja2.TemplateError as e:
            raise ModelError(
                f"the model's chat template failed to render: {e}",
                hint="the GGUF's tokenizer.chat_template may be broken; try another model",
            ) from e


def _raise(message: str) -> None:
    raise jinja2.TemplateError(message)


@lru_cache(maxsize=8)
def _compile(template: str) -> jinja2.Template:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(template)
