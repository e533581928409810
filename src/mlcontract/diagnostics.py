"""Render diagnostics the one way users see them everywhere:

    churn.mlc:19:9: error: unknown column `agee` in dataset `training`
       19 | feature agee psi < 0.2 vs production
          |         ^~~~
          = hint: did you mean `age`?
"""
from __future__ import annotations

import difflib
from typing import Iterable

from .errors import Diagnostic, SourceText


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


def render(diagnostic: Diagnostic, source: SourceText | None) -> str:
    path = source.path if source else "<contract>"
    span = diagnostic.span
    if span is None:
        head = f"{path}: {diagnostic.severity}: {diagnostic.message}"
        return head + (f"\n  = hint: {diagnostic.hint}" if diagnostic.hint else "")
    lines = [f"{path}:{span.line}:{span.column}: {diagnostic.severity}: {diagnostic.message}"]
    text = source.line(span.line) if source else ""
    width = len(str(span.line)) + 2
    lines.append(f"{span.line:>{width}} | {text}")
    lines.append(f"{'':>{width}} | {_underline(text, span)}")
    if diagnostic.hint:
        lines.append(f"{'':>{width}} = hint: {diagnostic.hint}")
    return "\n".join(lines)


def render_all(diagnostics: list[Diagnostic], source: SourceText | None) -> str:
    ordered = sorted(diagnostics, key=lambda d: (d.span.start if d.span else -1))
    body = "\n".join(render(d, source) for d in ordered)
    errors = sum(d.severity == "error" for d in diagnostics)
    return body + f"\n{errors} error{'s' if errors != 1 else ''} in {source.path if source else 'contract'}"


def _underline(text: str, span) -> str:
    """A caret under the first character of the span and tildes under the rest (same line only)."""
    start = span.column - 1
    end = span.end_column - 1 if span.end_line == span.line else len(text.rstrip())
    width = max(1, end - start)
    # Keep tabs in the padding so the caret lines up under tab-indented source.
    pad = "".join(ch if ch == "\t" else " " for ch in text[:start])
    return pad + "^" + "~" * (width - 1)
