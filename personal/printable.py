"""Text from elsewhere, made safe to show on a terminal.

A message, a preference, a conversation title or a model's name may come from an imported
file or a model file: escape sequences in it would drive the terminal (retitle it, clear
it, hide text), so every human view shows control characters as visible escapes. Rich
markup is the other half of the same problem; the CLI escapes it where it prints
(`personal.cli.show`).
"""

from __future__ import annotations

import re

# C0 controls but newline and tab, DEL, C1 controls, and the bidirectional overrides
# that reorder what is shown ("Trojan Source")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """`text` with every control character written as an escape (ESC → \\x1b)."""
    value = str(text).replace("\r\n", "\n")
    return _CONTROL.sub(_escape, value)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
