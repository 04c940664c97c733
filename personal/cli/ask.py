"""`personal ask`: one question, answered by the model, streamed to stdout and logged."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from collections.abc import Iterator

import typer

from personal.chat.events import Event, TextDelta, ToolCalled, ToolProblem, ToolReturned
from personal.chat.session import DEFAULT_SYSTEM_PROMPT, ChatSession, Turn
from personal.engine.base import GenerationParams
from personal.errors import PersonalError
from personal.log import Log
from personal.printable import printable


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
    tool: str | None = typer.Option(
        None, "--tool", "-t", help='Run a tool first, e.g. --tool "calc 17*23"; then the model answers.'
    ),
    use_tools: bool = typer.Option(True, "--tools/--no-tools", help="Let the model call tools."),
    adapter: str | None = typer.Option(
        "current", help="Adapter revision id, or 'current' (the registry's)."
    ),
    no_adapter: bool = typer.Option(False, "--no-adapter", help="Run the bare base model."),
    remote: bool | None = typer.Option(
        None, "--remote/--local", help="Answer with the host's model and your revision "
        "(personal sync login), or with this device's; default: the rule of personal sync route."),
) -> None:
    """Ask once; the answer streams to stdout, tool activity to stderr; the turn is logged."""
    from personal.tools import load_registry

    text = None if tool else _read_prompt(prompt)
    adapter = None if no_adapter else adapter
    params = GenerationParams(max_tokens=max_tokens, temperature=temperature, seed=seed)
    with Log() as log:
        if conversation:
            log.conversation(conversation)  # fail fast on a bad id, before loading a model
        tools = load_registry(log, strict=False) if (use_tools or tool) else None
        engine = _engine(log, conversation, text or "", model, backend, adapter, threads,
                         max_tokens, remote)  # fmt: skip
        try:
            session = ChatSession(
                engine, log, conversation, system_prompt=system or DEFAULT_SYSTEM_PROMPT,
                params=params, tools=tools, confirm=_confirm,
            )  # fmt: skip
            turn = session.invoke(tool) if tool else session.start(text or "")
            with _ctrl_c_cancels(turn) as interrupted:
                for event in session.events(turn):
                    _show(event, as_json)
            if interrupted:
                sys.stdout.write("\n")
                typer.secho("interrupted (the partial answer is kept)", err=True, fg="yellow")
                raise typer.Exit(130)
            if as_json:
                _print_json(session, turn, log)
            else:
                sys.stdout.write("\n")
        finally:
            engine.close()


def _engine(log: Log, conversation: str | None, text: str, model: str | None,
            backend: str | None, adapter: str | None, threads: int | None, max_tokens: int,
            remote: bool | None):  # fmt: skip
    """The local engine, or the host's (--remote, or the sync route rule says so)."""
    from personal.adapters.serving import open_served
    from personal.daemon.publish import remote_engine, route

    def say(line: str) -> None:
        typer.secho(printable(line), err=True, fg="cyan")

    if remote:
        return remote_engine(model, adapter, say=say)
    served = open_served(model, backend=backend, adapter=adapter, n_threads=threads)
    if served.warning:
        typer.secho(printable(served.warning), err=True, fg="yellow")
    engine = served.engine
    if remote is None:
        history = log.history(conversation) if conversation else []
        tokens = sum(engine.count_tokens(str(m.get("content") or "")) for m in history)
        if route(tokens + engine.count_tokens(text), engine.info.n_ctx, max_tokens):
            engine.close()
            say("the sync route sends this to the host's model")
            return remote_engine(model, adapter, say=say)
    return engine


@contextlib.contextmanager
def _ctrl_c_cancels(turn: Turn) -> Iterator[list[bool]]:
    """The first Ctrl-C cancels the answer between tokens, so it is logged whole as
    interrupted (a KeyboardInterrupt could land inside a database write); a second one
    interrupts at once."""
    hit: list[bool] = []

    def on_sigint(*_: object) -> None:
        if hit:
            raise KeyboardInterrupt
        hit.append(True)
        turn.cancel()

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: leave Ctrl-C alone
        yield hit
        return
    try:
        yield hit
    finally:
        signal.signal(signal.SIGINT, previous)


def _show(event: Event, as_json: bool) -> None:
    """Answer text to stdout; tool activity to stderr (so stdout stays the answer)."""
    if isinstance(event, TextDelta):
        if not as_json:  # escapes would drive a terminal; a pipe gets the exact text
            sys.stdout.write(printable(event.text) if sys.stdout.isatty() else event.text)
            sys.stdout.flush()
    elif isinstance(event, ToolCalled):
        args = json.dumps(event.call.arguments, ensure_ascii=False)
        typer.secho(printable(f"[tool] {event.call.name}({args})"), err=True, fg="magenta")
    elif isinstance(event, ToolReturned):
        r = event.result
        line = (r.content if r.ok else f"error: {r.error}") or ""
        first = line.splitlines()[0] if line else ""
        typer.secho(printable(f"[tool] → {first}"), err=True, fg="magenta")
    elif isinstance(event, ToolProblem):
        for problem in event.errors:
            typer.secho(printable(f"[tool] {problem}"), err=True, fg="yellow")


def _confirm(tool, arguments: dict) -> bool:
    """Side-effect tools run only after a yes at a terminal; without one, they don't."""
    if sys.stdin is None or not sys.stdin.isatty():
        typer.secho(f"[tool] {tool.name} has side effects and needs confirmation at a "
                    "terminal; not run", err=True, fg="yellow")  # fmt: skip
        return False
    return typer.confirm(printable(f"Run {tool.name}({json.dumps(arguments)})?"), err=True)


def _print_json(session: ChatSession, turn: Turn, log: Log) -> None:
    message = log.message(turn.assistant_id or "")
    result = turn.result
    steps = [m.openai() for m in log.messages(session.conversation_id or "")
             if m.seq > turn.user.seq and m.id != message.id]  # fmt: skip
    out = {
        "conversation_id": session.conversation_id,
        "message_id": message.id,
        "message": message.openai(),
        "tool_steps": steps,  # assistant tool calls and tool results before the answer
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
