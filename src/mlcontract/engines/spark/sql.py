"""Spark SQL text for the Spark engine: identifiers and exact literals, how a numeric column is
read, exact sums as integer digits, and running a query.

The engine builds SQL text rather than `pyspark.sql.functions` expressions: those functions pick
classic or Spark Connect from the process, not from the session, and both kinds of session may
live in one process. Every value written into the text is generated here from a Python value
(a contract's text never is): numbers as exact literals, strings as hexadecimal bytes.
"""
from __future__ import annotations

import datetime
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from ...errors import CheckError

INFINITY = "CAST('Infinity' AS DOUBLE)"
# Exact sums: each value y, |y| < 2**E, is cut into LIMBS integer digits of LIMB_BITS bits (summed
# as BIGINT: up to MAX_SUMMED values) and a residual below 2**(E - LIMBS * LIMB_BITS) summed as DOUBLE.
LIMB_BITS = 26
LIMBS = 3
MAX_SUMMED = 2 ** (63 - LIMB_BITS)


# ---- identifiers and literals ---------------------------------------------------------------------
def ident(name: str) -> str:
    """A column name as a Spark SQL identifier (backticks, doubled inside)."""
    # Braces are doubled: session.sql(text, frame=df) formats the text with str.format.
    return "`" + name.replace("`", "``").replace("{", "{{").replace("}", "}}") + "`"


def double(x: float) -> str:
    """An exact DOUBLE literal: repr() round-trips and Java's parser rounds correctly."""
    x = float(x)
    if math.isnan(x):
        return "CAST('NaN' AS DOUBLE)"
    if math.isinf(x):
        return INFINITY if x > 0 else f"(-{INFINITY})"
    return f"({x!r}D)" if x < 0 or str(x).startswith("-") else f"{x!r}D"


def bigint(i: int) -> str:
    i = int(i)
    if not -(2 ** 63) <= i < 2 ** 63:
        raise ValueError(f"{i} does not fit a BIGINT")
    if i == -(2 ** 63):
        return "CAST('-9223372036854775808' AS BIGINT)"
    return f"({i}L)" if i < 0 else f"{i}L"


def integer(i: int, spark_type) -> str:
    """An integer literal of a column's integer type: BIGINT, or DECIMAL(p, 0) (beyond BIGINT)."""
    if type(spark_type).__name__ == "DecimalType":
        return f"CAST('{int(i)}' AS DECIMAL({spark_type.precision}, 0))"
    return bigint(i)


def string(text: str) -> str:
    """A string literal from its UTF-8 bytes in hexadecimal: no quote or backslash of the text
    can end the literal, whatever Spark's escaping settings."""
    return f"CAST(X'{text.encode('utf-8').hex().upper()}' AS STRING)" if text else "''"


def literal(value) -> str:
    """A Python value of a contract (number, string, boolean, date, datetime, None) as a Spark
    SQL literal of the type Polars gives it: an integer beyond 64 bits is a DOUBLE; an aware
    datetime is the instant (TIMESTAMP), a naive one a TIMESTAMP_NTZ."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return bigint(value) if -(2 ** 63) <= value < 2 ** 63 else double(float(value))
    if isinstance(value, float):
        return double(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            since = value - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
            micros = (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds
            return f"timestamp_micros({bigint(micros)})"
        return f"TIMESTAMP_NTZ'{value.isoformat(sep=' ', timespec='microseconds')}'"
    if isinstance(value, datetime.date):
        return f"DATE'{value.isoformat()}'"
    raise CheckError(f"the Spark engine cannot write a {type(value).__name__} value into a query")


def power_of_two(exponent: int) -> list[str]:
    """2**exponent as a product of DOUBLE literals that are each finite and normal."""
    factors = []
    while exponent:
        step = max(-1000, min(1000, exponent))
        factors.append(double(math.ldexp(1.0, step)))
        exponent -= step
    return factors or ["1.0D"]


def scaled(expr: str, exponent: int) -> str:
    """expr * 2**exponent, exact (power-of-two factors) while the result is a normal double."""
    if exponent == 0:
        return f"({expr})"
    return "(" + " * ".join([f"({expr})", *power_of_two(exponent)]) + ")"


def both(condition: str | None, other: str) -> str:
    """`condition AND other`, or `other` alone (no condition: every row)."""
    return other if condition is None else f"(({condition}) AND {other})"


# ---- columns --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NumericColumn:
    """How the SQL reads one numeric column of a relation: `sql`, its expression over the frame
    (an identifier, or the missing values made null, a string's length), and `where`, the rows
    of the relation (None: every row). Values are compared and summed as DOUBLE, as the local
    kernels do (an integer beyond 2**53 rounds the same way in both); the extremes of an integer
    column are taken from the integers themselves (exact)."""

    sql: str
    floating: bool = False  # FLOAT / DOUBLE: may hold NaN and ±inf
    integer: bool = False  # TINYINT … BIGINT and DECIMAL(p, 0): exact integer extremes
    is_double: bool = False  # DOUBLE already (FLOAT, integers and decimals are cast, exactly or as Polars does)
    where: str | None = None

    @property
    def raw(self) -> str:
        return f"({self.sql})"

    @property
    def value(self) -> str:
        return self.raw if self.is_double else f"CAST({self.raw} AS DOUBLE)"

    @property
    def finite(self) -> str:
        """True for a finite value of the relation's rows; NULL or false otherwise (Spark orders
        NaN above +inf)."""
        return both(self.where, f"(abs({self.raw}) < {INFINITY})" if self.floating else f"({self.raw} IS NOT NULL)")

    def when_finite(self, expr: str) -> str:
        return f"CASE WHEN {self.finite} THEN {expr} END"

    def count_if(self, condition: str) -> str:
        """count_if over the relation's rows."""
        return f"count_if({both(self.where, condition)})"

    def values_sql(self, frame: str = "frame") -> str:
        """The finite values as `v`, one row each."""
        return f"SELECT {self.value} AS v FROM {{{frame}}} WHERE {self.finite}"


# ---- exact sums ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExactSum:
    """The exact sum of DOUBLE values |y| < 2**exponent, from integer sums.

    With z = y·2**(26−E) (|z| < 2**26), the digits are d_1 = trunc(z) and, for k >= 2,
    d_k = trunc(frac(z·2**(26(k−2)))·2**26): scaling by a power of two, taking a double's
    integer part and subtracting it are exact, so y = Σ d_k·2**(E−26k) + r, and the residual r,
    below 2**(E−78), is y minus the digits' sum — exact too, as each partial sum is y cut short
    (its bits are some of y's). Each digit is an exact integer below 2**26 summed as BIGINT (up
    to MAX_SUMMED values); only r is summed in DOUBLE: the sum is exact to ~n²·2**(E−130). Every
    expression is linear in y's text (no fmod: its cost grows with the quotient's exponent)."""

    exponent: int

    @property
    def limbs(self) -> int:
        # 2**(E - 26K) must stay a representable double (>= 2**-1074)
        return max(0, min(LIMBS, (self.exponent + 1074) // LIMB_BITS))

    def aggregates(self, y: str) -> list[str]:
        """SUM expressions over y (NULL rows are skipped): the digits, then the residual."""
        return [f"sum({part})" for part in self.parts(y)]

    def parts(self, y: str) -> list[str]:
        """The digit expressions (BIGINT) and the residual (DOUBLE) of y, to be summed."""
        if not self.limbs:
            return [y]
        z = scaled(y, LIMB_BITS - self.exponent)
        digits = [f"CAST({z} AS BIGINT)"]
        for k in range(2, self.limbs + 1):
            x = scaled(z, LIMB_BITS * (k - 2))
            digits.append(f"CAST({scaled(f'{x} - CAST({x} AS BIGINT)', LIMB_BITS)} AS BIGINT)")
        kept = " + ".join(scaled(f"CAST({d} AS DOUBLE)", self.exponent - LIMB_BITS * k)
                          for k, d in enumerate(digits, start=1))
        return [*digits, f"(({y}) - ({kept}))"]

    def value(self, sums: list) -> Fraction:
        """The exact sum from the sums of the digits and of the residual."""
        total = Fraction(0)
        for k, digit_sum in enumerate(sums[:self.limbs], start=1):
            if digit_sum:
                total += Fraction(int(digit_sum)) * Fraction(2) ** (self.exponent - LIMB_BITS * k)
        residual = sums[self.limbs]
        if residual:
            total += Fraction(float(residual))
        return total


def exponent_above(bound: float) -> int:
    """E with |y| < 2**E for every |y| <= bound (bound finite, >= 0)."""
    if bound == 0:
        return -1074
    return math.frexp(bound)[1]


# ---- running queries ----------------------------------------------------------------------------
class Runner:
    """Runs SQL on one session, turning Spark's failures into one-line CheckErrors; counts the
    queries it runs and, on a classic session, the Spark jobs they start (the tests and the
    benchmark check that a scan's work is combined)."""

    def __init__(self, session, describe_error: Callable[[BaseException], str], note: Callable[[str], None] | None = None):
        self.session = session
        self.describe_error = describe_error
        self.note = note
        self.queries = 0
        self.jobs = 0
        self.log: list[tuple[str, int, float]] = []  # (what, jobs, seconds) of every query

    def table(self, text: str, what: str, **frames):
        """The query's result as a pyarrow Table."""
        if self.note:
            self.note(what)
        self.queries += 1
        before, started = self._job_ids(), time.perf_counter()
        try:
            return self.session.sql(text, **frames).toArrow()
        except Exception as error:  # noqa: BLE001 - py4j, gRPC and Spark errors of every kind
            raise CheckError(f"Spark failed computing {what}: {self.describe_error(error)}") from None
        finally:
            after = self._job_ids()
            jobs = len(after - before) if before is not None and after is not None else 0
            self.jobs += jobs
            self.log.append((what, jobs, time.perf_counter() - started))

    def _job_ids(self) -> set | None:
        """The Spark jobs the session knows (a classic session; None over Spark Connect)."""
        context = getattr(self.session, "sparkContext", None) if not _is_connect(self.session) else None
        if context is None:
            return None
        try:
            return set(context.statusTracker().getJobIdsForGroup(None))
        except Exception:  # noqa: BLE001 - counting jobs is for reports, never a failure
            return None

    def frame(self, table):
        """A small driver-side pyarrow Table as a DataFrame of this session."""
        try:
            return self.session.createDataFrame(table)
        except Exception as error:  # noqa: BLE001
            raise CheckError(f"Spark failed taking a table from the driver: {self.describe_error(error)}") from None

    def row(self, text: str, what: str, **frames) -> list:
        """The single row of a global aggregate, as a list."""
        table = self.table(text, what, **frames)
        return [table.column(i)[0].as_py() for i in range(table.num_columns)]


def _is_connect(session) -> bool:
    return type(session).__module__.startswith("pyspark.sql.connect")


# Aggregates per query: beyond a few dozen aggregate functions in one Spark aggregation, its cost
# per row grows faster than their number (measured on 10M rows × 20 columns of histograms: one
# query of 230 aggregates took 1.6× the CPU of the same aggregates in queries of 30), so a scan's
# first query is cut into queries of at most this many, each reading only its columns.
AGGREGATES_PER_QUERY = 48


class Aggregates:
    """Aggregate expressions collected from several requests and run together: one query, or a
    few of at most AGGREGATES_PER_QUERY aggregates when there are many (a column's stay together)."""

    CONSTANTS = {"0": 0, "NULL": None}  # placeholders of aggregates a column does not need: not sent

    def __init__(self) -> None:
        self.expressions: list[str] = []
        self.groups: list[object] = []

    def add(self, expression: str, group: object = None) -> int:
        self.expressions.append(expression)
        self.groups.append(group)
        return len(self.expressions) - 1

    @property
    def sent(self) -> int:
        """The aggregates a query computes (the placeholders are not sent)."""
        return sum(e not in self.CONSTANTS for e in self.expressions)

    def add_all(self, expressions: list[str], group: object = None) -> list[int]:
        return [self.add(e, group) for e in expressions]

    def chunks(self) -> list[list[int]]:
        """The positions of each query's aggregates: groups kept whole, in order of appearance."""
        by_group: dict[object, list[int]] = {}
        for position, group in enumerate(self.groups):
            if self.expressions[position] not in self.CONSTANTS:
                by_group.setdefault(group if group is not None else ("position", position), []).append(position)
        chunks: list[list[int]] = [[]]
        for positions in by_group.values():
            if chunks[-1] and len(chunks[-1]) + len(positions) > AGGREGATES_PER_QUERY:
                chunks.append([])
            chunks[-1] += positions
        return chunks

    def run(self, runner: Runner, frame, what: str) -> list:
        if not self.expressions:
            return []
        found: list = [self.CONSTANTS.get(e) for e in self.expressions]
        for chunk in self.chunks():
            if not chunk:
                continue
            select = ", ".join(f"{self.expressions[i]} AS a{i}" for i in chunk)
            for position, value in zip(chunk, runner.row(f"SELECT {select} FROM {{frame}}", what, frame=frame)):
                found[position] = value
        return found
