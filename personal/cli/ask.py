"""`personal ask`: one question, answered by the model, streamed to stdout and logged."""

from __future__ import annotations

import json
import sys

import typer

from personal.chat import DEFAULT_SYSTEM_PROMPT, ChatSession
from personal.engine.base import GenerationParams
from personal.errors import PersonalError


class NoPrompt(PersonalError):
    pass


def _read_prompt(prompt: str | None) -> str:
    """The prompt argument, stdin when piped (appended after the argument), or both."""
    piped = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    if prompt == "-":
        prompt = None
    parts = [p.strip() for p in (prompt, piped) if p and p.strip()]
    if not parts:
        raise NoPrompt(
            "nothing to ask", hint='give a prompt: personal ask "..." (or pipe text in)'
        )
    return "\n\n".join(parts)


def ask(
    prompt: str | None = typer.Argument(None, help="The question (omitted, or a dash: read stdin)."),
    conversation: str | None = typer.Option(
        None, "--conversation", "-c", help="Continue this conversation (id or unique prefix)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object, for scripts."),
    model: str | None = typer.Option(None, "--model", "-m", help="Catalog name or .gguf path."),
    backend: str | None = typer.Option(None, help="llama.cpp (default), mlx or fake."),
    system: str | None = typer.Option(
        None, help="System prompt for a new conversation (default: a concise assistant)."
    ),
    max_tokens: int = typer.Option(512, help="Most tokens to generate."),
    temperature: float = typer.Option(0.7, help="0 for greedy (deterministic) decoding."),
    seed: int | None = typer.Option(None, help="Sampling seed."),
    threads: int | None = typer.Option(None, help="CPU threads (default: all cores, up to 8)."),
) -> None:
    """Ask once; the answer streams to stdout and the turn is logged."""
    from personal.engine.load import open_engine
    from personal.log import Log

    text = _read_prompt(prompt)
    params = GenerationParams(max_tokens=max_tokens, temperature=temperature, seed=seed)
    with Log() as log:
        if conversation:
            log.conversation(conversation)  # fail fast on a bad id, before loading a model
        engine = open_engine(model, backend=backend, n_threads=threads)
        try:
            session = ChatSession(
                engine, log, conversation, system_prompt=system or DEFAULT_SYSTEM_PROMPT,
                params=params,
            )  # fmt: skip
            turn = session.start(text)
            for piece in session.run(turn):
                if not as_json:
                    sys.stdout.write(piece)
                    sys.stdout.flush()
            if as_json:
                _print_json(session, turn, log)
            else:
                sys.stdout.write("\n")
        finally:
            engine.close()


def _print_json(session: ChatSession, turn, log) -> None:
    message = log.message(turn.assistant_id)
    result = turn.result
    out = {
        "conversation_id": session.conversation_id,
        "message_id": message.id,
        "message": message.openai(),
        "model": message.model,
        "model_fingerprint": message.model_fingerprint,
        "adapter": message.adapter,
        "backend": message.backend,
        "status": message.status,
        "finish_reason": result.usage.finish_reason if result else None,
        "usage": {
            "prompt_tokens": message.prompt_tokens,
            "completion_tokens": message.completion_tokens,
            "ttft_ms": message.ttft_ms,
            "duration_ms": message.duration_ms,
        },
    }
    typer.echo(json.dumps(out, ensure_ascii=False))
