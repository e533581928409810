"""Text that came from outside (data values, column names, file contents, server answers, the
contract's own strings) made safe to print in a CI log.

A CI log is read by machines too: GitHub Actions runs `::error::`, `::add-mask::`,
`::stop-commands::` lines, Azure Pipelines `##vso[...]`, and terminals obey ANSI escapes. So
outside text never carries a control character or a line break into what we print, never
spells a workflow command, and is cut to a length a report can show.

`printable` is for text; `printable_pieces` is the same escaping character by character (for
a caret under a quoted source line); `log_safe_json` keeps JSON printed to a log exact while
spelling no workflow command.
"""
from __future__ import annotations

import re

DEFAULT_LIMIT = 300
MESSAGE_LIMIT = 2000  # a check's message, an error: our words around outside text

# C0/C1 controls, DEL, and the Unicode characters that move text around on screen (bidi
# overrides and isolates, line/paragraph separators, zero-width joiners used to hide text).
_UNSAFE_CHARS = "\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff"
_UNSAFE = re.compile(f"[{_UNSAFE_CHARS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}
# Workflow-command markers: `::` (GitHub Actions) and `##[` / `##vso[` (GitHub legacy, Azure).
# Each character that starts a marker gets a backslash after it: `::` → `:\:`, `:::` → `:\:\:`,
# `##vso[` → `#\#vso[`; no marker survives, however the line is later wrapped.
_MARKER_START = re.compile(r":(?=:)|#(?=#\[|#vso\[)")


def printable(value: object, limit: int | None = DEFAULT_LIMIT) -> str:
    """`value` as one safe line: controls escaped (`\\n`, `\\x1b`, `\\u202e`), workflow-command
    markers broken (`::` → `:\\:`), and cut to `limit` characters (None: no limit).
    Idempotent with `limit=None`: escaping printed text again changes nothing."""
    text = value if isinstance(value, str) else str(value)
    if text.isascii() and text.isprintable() and "::" not in text and "##" not in text and \
            (limit is None or len(text) <= limit):
        return text  # the common case, unchanged (thousands of labels per report)
    if limit is not None and len(text) > limit:
        text = text[:limit] + f"… ({len(text) - limit:,} more characters)"
    text = _MARKER_START.sub(lambda m: m.group() + "\\", text)
    return _UNSAFE.sub(_escaped, text)


def printable_pieces(text: str, keep: str = "") -> list[str]:
    """What `printable(text, None)` prints for each character of `text` (one piece each), so a
    caret can be placed under a given character. Characters in `keep` (e.g. a tab, to line up
    tab-indented source) are left as they are."""
    pieces = []
    for index, char in enumerate(text):
        if char in keep:
            pieces.append(char)
        elif _UNSAFE.match(char):
            pieces.append(_escaped(char))
        elif _MARKER_START.match(text, index):
            pieces.append(char + "\\")
        else:
            pieces.append(char)
    return pieces


def log_safe_json(text: str) -> str:
    """JSON text (as json.dumps writes it, ASCII only) that spells no workflow command: a `:`
    or `#` starting a marker is written `\\u003a` / `\\u0023`, which any JSON reader turns back
    into the same character. Outside strings JSON has no `::` nor `##`, so only strings change."""
    return _MARKER_START.sub(lambda m: "\\u003a" if m.group() == ":" else "\\u0023", text)


def _escaped(match: re.Match | str) -> str:
    char = match if isinstance(match, str) else match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
