"""A chat template is a program inside a model file: sandboxed, and bounded.

A GGUF whose template computed a huge power hung `ask`; one that divided by zero crashed it
with a traceback. Every failure is now a ModelError, and a template we do not ship renders
in a worker process that is killed after RENDER_SECONDS.
"""

from __future__ import annotations

import time

import pytest

from personal.engine import prompt
from personal.engine.prompt import ChatFormat
from personal.errors import ModelError

MESSAGES = [{"role": "user", "content": "hello"}]
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
HOSTILE = {
    "power": ("{{ 10 ** 99999999 }}", "too large to compute"),
    "power of a variable": ("{% set n = 10 ** 9 %}{{ 7 ** n }}", "too large"),
    "division by zero": ("{{ 1 / 0 }}", "ZeroDivisionError"),
    "modulo by zero": ("{{ 1 % 0 }}", "ZeroDivisionError"),
    "repetition": ("{{ 'x' * 10 ** 8 }}", "too large to build"),
    "doubling": ("{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(40) %}"
                 "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}", "too large to build"),
    "huge prompt": ("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}", "characters"),
    "recursion": ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursed"),
    "raise_exception": ("{{ raise_exception('no tools here') }}", "no tools here"),
    "syntax": ("{% for %}", "failed to render"),
    "type": ("{{ messages + 1 }}", "failed to render"),
    "unsafe attribute": ("{{ messages.__class__.__mro__ }}", "failed to render"),
}  # fmt: skip


def fmt(template: str) -> ChatFormat:
    return ChatFormat.from_metadata(template, "", "<|im_end|>")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_templates_are_model_errors(name):
    template, message = HOSTILE[name]
    start = time.monotonic()
    with pytest.raises(ModelError, match=message) as raised:
        fmt(template).render(MESSAGES)
    assert raised.value.hint and "chat_template" in raised.value.hint
    assert time.monotonic() - start < prompt.RENDER_SECONDS + 2


def test_a_template_that_runs_forever_is_stopped(monkeypatch):
    monkeypatch.setattr(prompt, "RENDER_SECONDS", 1.5)
    forever = ("{% for i in range(100000) %}{% for j in range(100000) %}{% for k in "
               "range(100000) %}{% endfor %}{% endfor %}{% endfor %}")  # fmt: skip
    start = time.monotonic()
    with pytest.raises(ModelError, match="did not finish within 1.5 s"):
        fmt(forever).render(MESSAGES)
    assert time.monotonic() - start < 5
    assert fmt(CHATML).render(MESSAGES).startswith("<|im_start|>user\nhello")  # still works


def test_a_template_that_eats_memory_ends_as_a_model_error(monkeypatch):
    """Many bounded concatenations kept alive: the worker's address-space cap stops it."""
    monkeypatch.setattr(prompt, "RENDER_SECONDS", 30)
    hog = ("{% set ns = namespace(k=[]) %}{% for i in range(100000) %}"
           "{% set ns.k = ns.k + ['x' * 1000000] %}{% endfor %}")  # fmt: skip
    with pytest.raises(ModelError):
        fmt(hog).render(MESSAGES)


def test_benign_templates_render_the_same_here_and_in_a_worker():
    shipped, foreign = fmt(CHATML), fmt(CHATML + " ")
    assert foreign.render(MESSAGES) == shipped.render(MESSAGES) + " "
    plain = ChatFormat.from_metadata(None, "", "")
    assert plain.render(MESSAGES) == "User: hello\nAssistant:"


def test_a_hostile_template_in_a_gguf_fails_the_engine_cleanly(tmp_path):
    """Through the real llama.cpp engine: a typed error, not a hang or a traceback."""
    from personal.engine.llama import LlamaEngine
    from personal.models import catalog
    from tests.tinymodel import write_tiny_llama_gguf

    path = write_tiny_llama_gguf(tmp_path / "hostile.gguf", chat_template="{{ 9 ** 99999999 }}")
    engine = LlamaEngine(catalog.resolve(str(path)), n_ctx=256, n_threads=1)
    try:
        start = time.monotonic()
        with pytest.raises(ModelError, match="too large to compute"):
            engine.chat(MESSAGES).complete()
        assert time.monotonic() - start < 10
    finally:
        engine.close()
