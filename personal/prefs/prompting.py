"""Preferences in a system prompt: how the chat follows what a revision has not learned.

A tiny base model follows some preferences when they are in its prompt (a required opening
56% of the time, FACTS.md) and the adapter learns others. Until a revision measurably
follows a preference, the chat keeps that preference in the system prompt; the gate records
per preference which works best (`plan`: "adapter" — learned, left out of the prompt — or
"prompt"), and `kept_in_prompt` applies it.
"""

from __future__ import annotations

from collections.abc import Iterable

PREAMBLE = "Follow these preferences of the person in every answer:"


def with_preferences(system_prompt: str | None, texts: Iterable[str]) -> str | None:
    """`system_prompt` with the preferences appended as a bullet list (unchanged if none)."""
    lines = [f"- {t}" for t in texts]
    if not lines:
        return system_prompt
    return f"{system_prompt or ''}\n\n{PREAMBLE}\n" + "\n".join(lines)


def kept_in_prompt(preferences: Iterable, plan: dict[str, str] | None) -> list:
    """The active preferences (facts included) the chat puts in its prompt: every one,
    except those the current revision learned (`plan[id] == "adapter"`)."""
    plan = plan or {}
    return [p for p in preferences if p.kind != "withdraw" and plan.get(p.id) != "adapter"]
