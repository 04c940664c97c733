"""Reading other people's exports into conversations to import (see `read.read_import`).

Each format has its own module; all of them hand the writer (`personal.log.transfer`) the
same `Parsed` result: checked conversations, preference candidates found outside the chat
(custom instructions, memory) and what was left out, and why.
"""
