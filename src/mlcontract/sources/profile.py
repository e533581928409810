"""`profile("prod.profile.json")`: a dataset's profile (profiles.py; `mlc profile` writes one)
standing in for its rows: the checks it can serve are served from it, and no rows are read.
Its schema is the profile's; a check that needs rows (a model metric, an exact statistic the
profile does not hold) is refused when the contract compiles."""
from __future__ import annotations

from .base import Schema, SourceKind


def _open(source):
    from ..errors import DataError

    raise DataError(f"dataset `{source.name}` is a profile: it has no rows to scan")


def _schema(source) -> Schema:
    from ..profiles import load_profile

    return Schema(load_profile(source.path, source.name).schema)


KINDS = (
    SourceKind("profile", "dataset", summary="a dataset's profile (mlc profile): checks are served from it, no rows",
               example="prod.profile.json", rank=50, open=_open, schema=_schema, summaries_only=True),
)
