"""Render diagnostics the one way users see them everywhere:

    churn.mlc:19:9: error: unknown column `agee` in dataset `training`
       19 | feature agee psi < 0.2 vs production
          |         ^~~~
          = hint: did you mean `age`?
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable

from ..escape import MESSAGE_LIMIT, printable, printable_pieces
from .source import Diagnostic, SourceText

# Longer names are not typos of a name a person wrote, and comparing them is what costs:
# SequenceMatcher's work grows with the product of the two lengths (a 900 KB name took 10 s).
_MAX_COMPARED_LENGTH = 120
_CLOSE_ENOUGH = 0.6


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate(s), or None when nothing is close."""
    pool = sorted(set(candidates))
    scored = sorted(((_similarity(name, c), c) for c in pool), reverse=True)
    # Offer a second candidate only when it is about as close as the best one.
    close = [c for score, c in scored[:2] if score >= _CLOSE_ENOUGH and score >= scored[0][0] - 0.05]
    if not close:
        lowered = name.lower()
        close = [c for c in pool if c.lower() == lowered][:1]
    if not close:
        return None
    return "did you mean " + " or ".join(f"`{c}`" for c in close) + "?"


def _similarity(name: str, candidate: str) -> float:
    """SequenceMatcher's ratio, or 0 when it cannot reach _CLOSE_ENOUGH (its cheap upper bounds
    say so) or when either name is too long to be worth comparing."""
    if len(name) > _MAX_COMPARED_LENGTH or len(candidate) > _MAX_COMPARED_LENGTH:
        return 0.0
    matcher = difflib.SequenceMatcher(None, name, candidate)
    if matcher.real_quick_ratio() < _CLOSE_ENOUGH or matcher.quick_ratio() < _CLOSE_ENOUGH:
        return 0.0
    return matcher.ratio()


# The quoted source line is cut to a window this wide (in printed characters) around the span.
QUOTE_WIDTH = 200


def render(diagnostic: Diagnostic, source: SourceText | None) -> str:
    """Every part that came from the contract (its path, names in the message, the quoted
    line) is escaped (escape.py): a contract cannot write a control character or a workflow
    command into the log through a diagnostic."""
    path = printable(source.path if source else "<contract>")
    message = printable(diagnostic.message, MESSAGE_LIMIT)
    span = diagnostic.span
    if span is None:
        head = f"{path}: {diagnostic.severity}: {message}"
        return head + (f"\n  = hint: {printable(diagnostic.hint, MESSAGE_LIMIT)}" if diagnostic.hint else "")
    lines = [f"{path}:{span.line}:{span.column}: {diagnostic.severity}: {message}"]
    text, underline = _quote(source.line(span.line) if source else "", span)
    width = len(str(span.line)) + 2
    lines.append(f"{span.line:>{width}} | {text}")
    lines.append(f"{'':>{width}} | {underline}")
    if diagnostic.hint:
        lines.append(f"{'':>{width}} = hint: {printable(diagnostic.hint, MESSAGE_LIMIT)}")
    return "\n".join(lines)


def render_all(diagnostics: list[Diagnostic], source: SourceText | None) -> str:
    ordered = sorted(diagnostics, key=lambda d: (d.span.start if d.span else -1))
    body = "\n".join(render(d, source) for d in ordered)
    errors = sum(d.severity == "error" for d in diagnostics)
    return body + f"\n{errors} error{'s' if errors != 1 else ''} in {printable(source.path if source else 'contract')}"


def _quote(text: str, span) -> tuple[str, str]:
    """The source line as printed (escaped, and cut to a window around the span when long) and
    the underline beneath it: a caret under the span's first character, tildes under the rest
    (same line only), counted in printed characters so they stay under the escaped text."""
    start = span.column - 1
    end = span.end_column - 1 if span.end_line == span.line else len(text.rstrip())
    # Only what a window can show is escaped: every character prints as at least one, so
    # QUOTE_WIDTH of them on either side of the span's start are enough (a 5 MB line costs as
    # little as a short one).
    offset = max(0, min(start, len(text)) - QUOTE_WIDTH)
    clipped = text[offset:start + QUOTE_WIDTH + 1]
    reaches_end = offset + len(clipped) == len(text)
    pieces = printable_pieces(clipped, keep="\t")  # tabs kept, so the caret lines up under tab-indented source
    start, end = start - offset, end - offset
    first, last = _window(pieces, start, whole=offset == 0 and reaches_end)
    before = "…" if first + offset > 0 else ""
    after = "…" if last < len(pieces) or not reaches_end else ""
    pad = before + "".join(p if p == "\t" else " " * len(p) for p in pieces[first:start])
    pad += " " * max(0, start - max(first, len(pieces)))  # a span past the end of the line
    marked = sum(len(p) for p in pieces[start:min(end, last)])
    if last == len(pieces) and reaches_end:
        marked += max(0, end - max(start, len(pieces)))  # a span reaching past the end of the line
    return before + "".join(pieces[first:last]) + after, pad + "^" + "~" * (max(1, marked) - 1)


def _window(pieces: list[str], start: int, whole: bool = True) -> tuple[int, int]:
    """The pieces to show: all of them when they are the whole line and fit in QUOTE_WIDTH
    printed characters, else a window of that width starting a little before the span."""
    if whole and sum(len(p) for p in pieces) <= QUOTE_WIDTH:
        return 0, len(pieces)
    first, used = min(start, len(pieces)), 0
    while first > 0 and used + len(pieces[first - 1]) <= QUOTE_WIDTH // 4:
        first -= 1
        used += len(pieces[first])
    last, used = first, 0
    while last < len(pieces) and used + len(pieces[last]) <= QUOTE_WIDTH:
        used += len(pieces[last])
        last += 1
    return first, last
