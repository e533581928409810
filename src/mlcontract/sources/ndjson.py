"""`ndjson("data/train.ndjson")`: newline-delimited JSON, one object per row (or with
`glob=true` the files a pattern matches).

The schema is inferred from the whole file, not Polars' first 100 lines: a key that first
appears later would be dropped. What Polars would hide is an error when the contract runs: an
object that repeats a key (Polars keeps the first), a key left out of the schema a contract's
`infer_schema_length=` inferred (its values would be dropped).
"""
from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from .base import WHOLE_NUMBER, SourceKind
from .datasets import GLOB, FileFormat, shown

# NDJSON files are checked for repeated keys this many bytes at a time (pyarrow's reader).
NDJSON_AUDIT_CHUNK = 64 << 20
# NDJSON schemas inferred in this process, by the files' identity: inferring one reads the whole
# file (seconds for 100 MB), and compiling then running a contract would do it twice.
_NDJSON_SCHEMAS: dict = {}


def _scan(files: list[Path], folder: Path | None, options: dict):
    """scan_ndjson has no `glob=False`: its paths are escaped instead, so `data[1].ndjson` is
    that file and not `data1.ndjson`."""
    import glob

    import polars as pl

    names = [glob.escape(str(f)) for f in files]
    target = names[0] if len(names) == 1 else names
    stats = [f.stat() for f in files]
    key = (tuple((str(f), s.st_ino, s.st_size, s.st_mtime_ns) for f, s in zip(files, stats)),
           tuple(sorted(options.items())))
    if key not in _NDJSON_SCHEMAS:
        if len(_NDJSON_SCHEMAS) >= 32:
            _NDJSON_SCHEMAS.clear()
        _NDJSON_SCHEMAS[key] = pl.scan_ndjson(target, **options).collect_schema()
    rest = {k: v for k, v in options.items() if k != "infer_schema_length"}
    return pl.scan_ndjson(target, schema=_NDJSON_SCHEMAS[key], **rest)


def _file_schema(file: Path, options: dict) -> dict:
    import glob

    import polars as pl

    return dict(pl.scan_ndjson(glob.escape(str(file)), **options).collect_schema())


class _RepeatedKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _unique_keys(pairs: list) -> dict:
    """json.loads' object_pairs_hook: refuse an object that repeats a key."""
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise _RepeatedKey(key)
        seen[key] = value
    return seen


def _audit(lazy, files: list[Path], source, what: str) -> None:
    """Polars keeps the first of an object's repeated keys and drops keys outside the schema it
    inferred: both would be data the checks silently never see. Every object of every file is
    read once (pyarrow's JSON reader, which refuses repeated keys, at any depth); a chunk it
    refuses for another reason (a key whose type changes) is read line by line with json."""
    import io

    import pyarrow.json as pj

    keys: set[str] = set()
    for file in files:
        line = 1
        with open(file, "rb") as handle:
            while chunk := handle.read(NDJSON_AUDIT_CHUNK):
                chunk += handle.readline()  # up to the end of the chunk's last line
                try:
                    keys.update(pj.read_json(io.BytesIO(chunk)).column_names)
                except Exception:  # noqa: BLE001 - a repeated key, or pyarrow's stricter typing
                    keys.update(_ndjson_keys(chunk, line, f"{what}: {shown(file, source)}"))
                line += chunk.count(b"\n")
    unread = sorted(keys - set(lazy.collect_schema().names()))
    if unread:
        window = dict(source.options).get("infer_schema_length")
        raise DataError(f"{what}: the key `{unread[0]}` is not among the columns Polars inferred from the first "
                        f"{window} lines, so its values would be dropped; remove `infer_schema_length=`")


def _ndjson_keys(chunk: bytes, first_line: int, what: str) -> set[str]:
    """The top-level keys of the chunk's objects, read with json (a line that is not JSON is
    skipped: Polars reports it when it reads the file)."""
    import json

    keys: set[str] = set()
    for number, line in enumerate(chunk.split(b"\n"), first_line):
        try:
            value = json.loads(line, object_pairs_hook=_unique_keys)
        except _RepeatedKey as repeated:
            raise DataError(f"{what}: an object on line {number} has the key `{repeated.key}` twice "
                            "(Polars would keep the first); give each key once") from None
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            keys.update(value)
    return keys


# The whole file, not Polars' first 100 lines: a key that first appears later would be dropped.
NDJSON = FileFormat(_scan, _file_schema, defaults={"infer_schema_length": None}, audit=_audit)

KINDS = (
    SourceKind("ndjson", "dataset", summary="newline-delimited JSON, one object per row",
               example="data/train.ndjson", options={"infer_schema_length": WHOLE_NUMBER, "glob": GLOB}, rank=40,
               suffixes=(".ndjson", ".jsonl"), open=NDJSON.open, schema=NDJSON.schema),
)
