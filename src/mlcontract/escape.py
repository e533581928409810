"""Text that came from outside (data values, column names, file contents, server answers, the
contract's own strings) made safe to print in a CI log.

A CI log is read by machines too: GitHub Actions runs `::error::`, `::add-mask::`,
`::stop-commands::` lines, Azure Pipelines `##vso[...]`, and terminals obey ANSI escapes. So
outside text never carries a control character or a line break into what we print, never
spells a workflow command, and is cut to a length a report can show.
"""
from __future__ import annotations

import re

DEFAULT_LIMIT = 300

# C0/C1 controls, DEL, and the Unicode characters that move text around on screen (bidi
# overrides and isolates, line/paragraph separators, zero-width joiners used to hide text).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}
# Workflow-command markers: `::` (GitHub Actions) and `##[` / `##vso[` (GitHub legacy, Azure).
_COMMAND = re.compile(r"::|##(?=\[|vso\[)")


def printable(value: object, limit: int | None = DEFAULT_LIMIT) -> str:
    """`value` as one safe line: controls escaped (`\\n`, `\\x1b`, `\\u202e`), workflow-command
    markers broken (`::` → `:\\:`), and cut to `limit` characters (None: no limit)."""
    text = value if isinstance(value, str) else str(value)
    if limit is not None and len(text) > limit:
        text = text[:limit] + f"… ({len(text) - limit:,} more characters)"
    text = _UNSAFE.sub(_escaped, text)
    return _COMMAND.sub(lambda m: ":\\:" if m.group() == "::" else "#\\#", text)


def _escaped(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
