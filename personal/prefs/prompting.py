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


UNCHECKED_HINT = (
    "a preference without a check is never trained on (nothing could tell whether an answer "
    "follows it); the chat keeps it in its prompt. To have it learned, say it in checkable "
    "terms — quote the exact words (\"Begin every answer with 'Hi'\"), give a number (\"under "
    "50 words\"), name a format or a language — or edit one answer into the answer you want "
    "(an edited answer is a checked example)"
)


def status(preference, plan: dict[str, str] | None) -> str:
    """How the model follows a preference now: "learned", "in the prompt" (checked, not
    learned yet), "unchecked: in the prompt", "off", or "candidate" (from an import, not
    confirmed: used nowhere)."""
    if not getattr(preference, "confirmed", True):
        return "candidate"
    if not preference.active:
        return "off"
    if not preference.checker:
        return "unchecked: in the prompt"
    return "learned" if (plan or {}).get(preference.id) == "adapter" else "in the prompt"
