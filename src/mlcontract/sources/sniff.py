"""Recognising a model file by its first bytes, before anything loads it.

A file declared as one format but holding another (an XGBoost JSON model given to
`sklearn(...)`) would otherwise fail deep inside the wrong library ("KeyError: 123", "pop from
empty list") or, for `sklearn(...)`, only after the invocation consented to unpickling it.
Reading a few bytes runs no code from the file, so this needs no grant.

Each model kind says what its files look like (`SourceKind.recognise(path, head)`, defined in
its own module); this asks every kind. A helper of the model kinds (no kind of its own).
"""
from __future__ import annotations

from pathlib import Path

HEAD_BYTES = 4096  # how much of a file is read to recognise it


def recognise(path: Path) -> tuple[str, str] | None:
    """(what the file looks like, the model kind that loads it), e.g. ("an XGBoost JSON model",
    "xgboost"), or None: no kind recognises it (a pickle, a missing file, something unknown). A
    folder is offered to the kinds with an empty head (an MLflow model folder)."""
    from . import kinds

    try:
        if path.is_dir():
            head = b""
        elif not path.is_file():  # missing, or a FIFO or device, which a read could block on
            return None
        else:
            with open(path, "rb") as file:
                head = file.read(HEAD_BYTES)
    except (OSError, ValueError):
        return None  # missing or unreadable: the loader says so
    for kind in kinds("model"):
        if kind.recognise is not None:
            what = kind.recognise(path, head)
            if what:
                return what, kind.name
    return None


def other_format(name: str, path: Path, declared: str) -> str | None:
    """The message for model `name`, declared as `declared(...)`, whose file is recognisably of
    another kind; None when it is not (or is recognised as what it was declared)."""
    from ..escape import printable
    from . import registry

    found = recognise(path)
    if found is None or found[1] == declared:
        return None
    what, kind = found
    entry = registry().get(("model", declared))
    words = entry.file_type if entry is not None and entry.file_type else declared
    return (f"model `{name}`: {printable(path.name)} is not {words} file: this looks like {what}; "
            f"declare it as {kind}(...)")
