"""Printing text that came from the person, an import or a model file.

Rich reads `[...]` as markup: a title like "[/x]" crashed `log list`, and "[red]" would
restyle the output. Every value interpolated into a markup string goes through `plain`;
a value printed on its own goes through `literal`. Both also escape control characters
(`personal.printable`).
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text

from personal.printable import printable


def plain(value: object) -> str:
    """For a Rich markup string: control characters escaped, markup escaped."""
    return escape(printable(value))


def literal(value: object, style: str = "") -> Text:
    """A Rich Text that shows `value` as it is (no markup), control characters escaped."""
    return Text(printable(value), style=style)
