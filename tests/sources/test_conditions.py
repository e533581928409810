"""`where` comparisons of integer columns with number literals, compared exactly (sources/
conditions.py): against an oracle in Python's exact rationals, for every integer width (128-bit
and decimals of scale 0 included), float literals, literals beyond Int64 and beyond every type,
infinities, and both operand orders. Polars alone compares 10**17 + 1 with 1e17 as Float64s,
takes 2**100 as a Float64, and compares UInt128 with an Int64 literal wrongly."""
from __future__ import annotations

import decimal
import itertools
import math
from fractions import Fraction

import polars as pl

import mlcontract

COLUMNS = {
    "u128": pl.Series([2 ** 127 + 1, 5, 0, None, 2 ** 128 - 1], dtype=pl.UInt128),
    "i128": pl.Series([2 ** 100 + 1, 10 ** 17 + 1, -5, None, -(2 ** 127)], dtype=pl.Int128),
    "i64": pl.Series([10 ** 17 + 1, 5, -(2 ** 63), None, 2 ** 63 - 1], dtype=pl.Int64),
    "u8": pl.Series([0, 255, 7, None, 3], dtype=pl.UInt8),
    "dec": pl.Series([decimal.Decimal(10 ** 30 + 1), decimal.Decimal(5), decimal.Decimal(-7), None, decimal.Decimal(0)],
                     dtype=pl.Decimal(38, 0)),
}
LITERALS = ["1e17", "5.5", "-5.5", "5", "-7", "2e38", "1e400", "-1e400", str(2 ** 100), str(-(2 ** 100)), str(2 ** 127),
            str(2 ** 128 + 3), "255.0", "-0.0", "1e30"]
OPS = ["<", "<=", ">", ">=", "==", "!="]
FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def holds(x: int, op: str, literal: str) -> bool:
    v = float(literal) if any(c in literal for c in ".e") else int(literal)
    if isinstance(v, float) and math.isinf(v):
        return {"<": v > 0, "<=": v > 0, ">": v < 0, ">=": v < 0, "==": False, "!=": True}[op]
    a, b = Fraction(int(x)), Fraction(v)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]


def test_integer_columns_meet_number_literals_exactly():
    cases = list(itertools.product(COLUMNS, OPS, LITERALS, [False, True]))
    lines = [f"d rows where {f'{literal} {FLIPPED[op]} {column}' if flip else f'{column} {op} {literal}'} >= 0"
             for column, op, literal, flip in cases]
    result = mlcontract.compile('dataset d = parquet("d.parquet")\n' + "\n".join(lines) + "\n").run(
        datasets={"d": pl.DataFrame(COLUMNS)})
    for (column, op, literal, _), check in zip(cases, result.checks):
        expected = sum(1 for x in COLUMNS[column].to_list() if x is not None and holds(x, op, literal))
        assert (check.status, check.value) == ("pass", expected), (check.source, check.message)
