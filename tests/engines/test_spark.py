"""The Spark engine gives the local engine's numbers (issue 11).

Each dataset pair is checked through the same compiled contract on both engines (LocalBackend
and SparkBackend, on a classic session and over Spark Connect): every request value and every
check result is compared. Exact where the engine says exact (counts, rates, min/max — integers
beyond 2**53 included —, quantiles, bin edges, histogram counts, KS D); moments and the
histogram-family statistics to 1e-12 relative; Wasserstein within the documented 2e-15.
"""
from __future__ import annotations

import decimal
import math
import os
import shutil
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import mlcontract
from mlcontract.engines.base import Inputs, Settings
from mlcontract.engines.local import LocalBackend
from mlcontract.errors import CheckError
from mlcontract.plan import requests as rq
from mlcontract.report.evaluate import evaluate

# `slow`: they start Spark (CI runs them: .ci/run runs the whole suite); `spark`: they need pyspark and Java.
pytestmark = [pytest.mark.spark, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
W1_BOUND = 2e-15  # docs/spark.md: Wasserstein W1 relative to the local engine's
MOMENTS = 1e-12


def spark_backend(session=None, **options):
    from mlcontract.engines.spark import SparkBackend

    return SparkBackend(Settings(options={"session": session, **options} if session is not None else options))


def run_local(contract, frames=None):
    return LocalBackend().run(contract.plan, Inputs.of(contract.checked, frames))


def run_spark(contract, session=None, frames=None, **options):
    return spark_backend(session, **options).run(contract.plan, Inputs.of(contract.checked, frames))


# ---- Spark sessions: one Spark Connect session and one classic session for the whole test run ------------
# Starting Spark costs ~10-40 s. Both live in this process: a classic local session that runs a
# Spark Connect server (the plugin `SparkSession.builder.remote("local[2]")` starts), and a Spark
# Connect session to that server. The engine builds SQL text and never uses
# `pyspark.sql.functions`, whose functions pick classic or Connect from the process.
@pytest.fixture(scope="session")
def spark_sessions():
    """{"classic": session, "connect": session}. Without Java or pyspark the Spark tests are
    skipped on a developer's machine and fail in CI (.ci/run installs both)."""
    if not os.environ.get("CI"):
        if shutil.which("java") is None:
            pytest.skip("the Spark tests need Java 17+ (java is not on PATH)")
        pytest.importorskip("pyspark")
    before = dict(os.environ)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    warnings.filterwarnings("ignore", message=".*pandas >= 3.0.0.*")
    from pyspark.sql import SparkSession
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    # What `SparkSession.builder.remote("local[2]")` does — a classic local session running the
    # Spark Connect server as a plugin, and a Connect session to it — on a free port: the fixed
    # default (15002) would make two test runs on one machine fail each other.
    port = _free_port()
    classic = (SparkSession.builder.master("local[2]").appName("mlcontract-tests")
               .config("spark.plugins", "org.apache.spark.sql.connect.SparkConnectPlugin")
               .config("spark.connect.grpc.binding.port", str(port))
               .config("spark.sql.shuffle.partitions", "4").config("spark.ui.enabled", "false")
               .getOrCreate())
    classic.sparkContext.setLogLevel("ERROR")
    connect = ConnectSession.builder.remote(f"sc://127.0.0.1:{port}").getOrCreate()
    yield {"classic": classic, "connect": connect}
    connect.stop()
    classic.stop()
    for name in set(os.environ) - set(before):  # SPARK_CONNECT_MODE_ENABLED, SPARK_REMOTE, ...: not for later tests
        del os.environ[name]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module", params=["classic", "connect"])
def spark(request, spark_sessions):
    """Each test that takes it runs on both kinds of session."""
    return spark_sessions[request.param]


@pytest.fixture
def classic(spark_sessions):
    return spark_sessions["classic"]


@pytest.fixture
def tiny(monkeypatch):
    """The engine's bounds shrunk so that small data goes through every branch: buckets split
    over several rounds, values gathered in pieces, KS/Wasserstein walked by Spark."""
    from mlcontract.engines.spark import buckets, scan

    monkeypatch.setattr(buckets, "GATHER_MAX", 1_000)
    monkeypatch.setattr(buckets, "GATHER_BUDGET", 8_000)
    monkeypatch.setattr(buckets, "MIN_BUCKETS", 4)
    monkeypatch.setattr(buckets, "MAX_BUCKETS", 128)
    monkeypatch.setattr(buckets, "MAX_WALK_BUCKETS", 128)
    monkeypatch.setattr(buckets, "MAX_INTERVALS", 3)
    monkeypatch.setattr(buckets, "MANY_KEYS", 5)
    monkeypatch.setattr(buckets, "BUCKET_VALUES", 400)
    monkeypatch.setattr(buckets, "WALK_BUCKET_VALUES", 400)
    monkeypatch.setattr(scan, "WALK_COLLECT", 0)


# ---- the datasets ------------------------------------------------------------------------------------
def _missing(n: int, seed: int, shift: float) -> pl.DataFrame:
    """Nulls, NaN, ±inf; a constant column; an all-null column."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    x[rng.random(n) < 0.03] = np.nan
    x[rng.random(n) < 0.01] = np.inf
    x[rng.random(n) < 0.01] = -np.inf
    frame = pl.DataFrame({"x": x, "z": np.full(n, 3.5), "empty": np.full(n, np.nan)}, nan_to_null=False)
    return frame.with_columns(
        pl.when(pl.Series(rng.random(n) < 0.05)).then(None).otherwise(pl.col("x")).alias("x"),
        pl.when(pl.Series(rng.random(n) < 0.1)).then(None).otherwise(pl.col("z")).alias("z"),
        pl.lit(None, dtype=pl.Float64).alias("empty"),
    )


def _skewed(n: int, seed: int, shift: float) -> pl.DataFrame:
    """Heavy tails and outliers: equal-width buckets are useless without refinement."""
    rng = np.random.default_rng(seed)
    y = rng.lognormal(shift, 3.0, n)
    y[:5] = [1e12, -1e9, 3e15, 1e-300, 5e-324]
    v = rng.pareto(1.2, n) - rng.pareto(1.5, n)
    huge = rng.uniform(-1, 1, n) * 1.7e308  # squared deviations overflow: m2 kept in units of 4**576
    return pl.DataFrame({"y": y, "v": v, "huge": huge})


def _ties(n: int, seed: int, shift: float) -> pl.DataFrame:
    """Heavy ties: small integers, mostly zero; rounded floats."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 6, n)
    k[rng.random(n) < 0.6 + shift] = 0
    return pl.DataFrame({"k": k.astype(np.int64), "r": np.round(rng.normal(shift, 1.0, n), 1),
                         "h": rng.integers(0, 3, n).astype(np.int32)})


def _categorical(n: int, seed: int, shift: float) -> pl.DataFrame:
    """Rare levels, levels only one side has, booleans, nulls."""
    rng = np.random.default_rng(seed)
    levels = np.array([f"level_{j}" for j in range(60)] + (["only_cur"] if shift else ["only_ref"]))
    p = np.arange(1, len(levels) + 1, dtype=float) ** -1.6
    p /= p.sum()
    c = levels[rng.choice(len(levels), n, p=p)].astype(object)
    c[rng.random(n) < 0.02] = None
    return pl.DataFrame({"c": c.tolist(), "b": (rng.random(n) < 0.3 + shift).tolist(),
                         "d": rng.choice(["x", "y", "z"], n).tolist()})


def _integers(n: int, seed: int, shift: float) -> pl.DataFrame:
    """Int64 beyond 2**53 (float64 rounds them: min/max must stay exact)."""
    rng = np.random.default_rng(seed)
    ids = 2 ** 62 + rng.integers(-5_000, 5_000, n) + int(shift * 1000)
    ids[0] = 2 ** 63 - 1 - int(shift * 7)
    ids[1] = 2 ** 53 + 1
    negative = -(2 ** 60) - rng.integers(0, 1_000_000, n)
    # DECIMAL(20, 0) beyond BIGINT: an integer type too (exact extremes and bounds on both engines)
    amounts = [decimal.Decimal(10 ** 19 + int(k)) for k in rng.integers(-3, 4, n)]
    amounts[2] = decimal.Decimal(10 ** 17 + 1)
    prices = [decimal.Decimal(f"{k}.{c:02d}") for k, c in zip(rng.integers(0, 3, n), rng.choice([0, 10, 50], n))]
    return pl.DataFrame({"id": ids.astype(np.int64), "neg": negative.astype(np.int64),
                         "small": rng.integers(-100, 100, n).astype(np.int32),
                         "amount": pl.Series(amounts, dtype=pl.Decimal(20, 0)),
                         "price": pl.Series(prices, dtype=pl.Decimal(10, 2))})


DATASETS = {
    "missing": (_missing, [
        "feature x null_rate <= 50%", "feature x mean <= 1", "feature x std <= 2", "feature x min >= -10",
        "feature x max <= 10", "feature x median <= 1", "feature x p99 <= 10", "feature x p1 >= -10",
        "feature x psi < 1 vs ref", "feature x js < 1 vs ref", "feature x hellinger < 1 vs ref",
        "feature x linf < 1 vs ref", "feature x kl < 1 vs ref", "feature x chi2_pvalue >= 0 vs ref",
        "feature x ks < 1 vs ref", "feature x ks_pvalue >= 0 vs ref", "feature x wasserstein < 5 vs ref",
        "feature x wasserstein_norm < 5 vs ref", "feature x out_of_range_rate(-1, 1) <= 100%",
        "feature x out_of_range_rate <= 100% vs ref", "feature x between -5 and 5",
        "feature z std <= 1", "feature z mean <= 4", "feature z psi < 1 vs ref", "feature z null_rate <= 50%",
        "feature empty mean <= 1", "feature empty null_rate <= 100%", "feature empty psi < 1 vs ref",
        "feature empty ks < 1 vs ref",
    ]),
    "skewed": (_skewed, [
        "feature y mean >= 0", "feature y std >= 0", "feature y min >= -1e10", "feature y max <= 1e16",
        "feature y p5 >= -1", "feature y median >= 0", "feature y p95 >= 0", "feature y p99.9 >= 0",
        "feature y psi < 5 vs ref", "feature y js < 1 vs ref bins 20", "feature y ks < 1 vs ref",
        "feature y wasserstein >= 0 vs ref", "feature y ks_pvalue >= 0 vs ref",
        "feature v psi < 5 vs ref", "feature v kl < 5 vs ref bins 7", "feature v wasserstein_norm >= 0 vs ref",
        "feature v mean >= -1e9", "feature v std >= 0", "feature v p75 >= -1e9",
        "feature huge std > 0", "feature huge mean >= -1e308", "feature huge psi < 5 vs ref",
    ]),
    "ties": (_ties, [
        "feature k psi < 5 vs ref", "feature k psi < 5 vs ref bins 20", "feature k js < 1 vs ref",
        "feature k chi2_pvalue >= 0 vs ref", "feature k ks < 1 vs ref", "feature k ks_pvalue >= 0 vs ref",
        "feature k wasserstein >= 0 vs ref", "feature k median >= 0", "feature k p90 >= 0",
        "feature k distinct >= 1", "feature k unique_rate <= 1", "feature k unseen_rate <= 100% vs ref",
        "feature r psi < 5 vs ref", "feature r ks < 1 vs ref", "feature r wasserstein >= 0 vs ref",
        "feature r mean <= 5", "feature r std <= 5", "feature h psi < 5 vs ref", "feature h hellinger < 1 vs ref",
        "feature h min >= 0", "feature h max <= 2",
    ]),
    "categorical": (_categorical, [
        "schema of cur matches ref", "feature c psi < 5 vs ref", "feature c js < 1 vs ref",
        "feature c hellinger < 1 vs ref", "feature c linf < 1 vs ref", "feature c kl < 5 vs ref",
        "feature c chi2_pvalue >= 0 vs ref", "feature c unseen_rate <= 100% vs ref", "feature c distinct >= 1",
        "feature c unique_rate <= 1", "feature c null_rate <= 10%", "feature b psi < 5 vs ref",
        "feature b null_rate <= 1%", "feature b distinct <= 2", "feature d chi2_pvalue >= 0 vs ref",
    ]),
    "integers": (_integers, [
        "feature id min >= 0", "feature id max >= 0", "feature id mean >= 0", "feature id std >= 0",
        "feature id median >= 0", "feature id p90 >= 0", "feature id psi < 5 vs ref", "feature id ks < 1 vs ref",
        "feature id wasserstein >= 0 vs ref", "feature id between 4611686018427383904 and 9223372036854775807",
        "feature id out_of_range_rate(4611686018427387904, 4611686018427388000) <= 100%",
        "feature id out_of_range_rate <= 100% vs ref", "feature neg min <= 0", "feature neg max <= 0",
        "feature neg between -1152921504607846976 and -1152921504606846976",
        "feature small min >= -100", "feature small max <= 100", "feature small mean <= 100", "feature small psi < 5 vs ref",
        "feature id distinct >= 1", "feature amount min >= 0", "feature amount max <= 10000000000000000003",
        "feature amount between 100000000000000001 and 10000000000000000002",
        "feature amount out_of_range_rate(100000000000000000, 10000000000000000000) <= 100%",
        "feature amount mean >= 0", "feature amount psi < 5 vs ref", "feature amount distinct >= 1",
        "feature amount unseen_rate <= 100% vs ref", "feature price in (0.1, 2.5) >= 0%", "feature price distinct >= 1",
        "feature price unseen_rate <= 100% vs ref", "cur rows where amount > 1e19 >= 0",
        "cur rows where id >= 4.6116860184273879e18 >= 0", "cur rows where small < 5.5 >= 0",
        "cur rows where id != 2e30 >= 0", f"cur rows where amount <= {10 ** 19 + 1} >= 0",
        "cur rows where 1e17 < amount >= 0",
    ]),
}


@pytest.fixture(scope="session")
def datasets(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("spark_datasets")
    for name, (make, lines) in DATASETS.items():
        # Both above SMALL_SAMPLE (10,000): large samples are never collected (SparkSample, Spark's walk).
        make(12_000, 1, 0.0).write_parquet(folder / f"{name}_ref.parquet")
        make(11_000, 2, 0.1).write_parquet(folder / f"{name}_cur.parquet")
        header = f'dataset cur = parquet("{name}_cur.parquet")\ndataset ref = parquet("{name}_ref.parquet")\n'
        (folder / f"{name}.mlc").write_text(header + "\n".join(lines) + "\n")
    return folder


# ---- comparing the engines ------------------------------------------------------------------------------
def same_value(request, local, spark) -> None:
    """Assert that the Spark engine's value of a request is the local engine's."""
    from mlcontract.engines.spark import SparkSample

    where = request.describe() + " of " + str(request.dataset)
    if isinstance(local, BaseException):
        assert isinstance(spark, BaseException), (where, local, spark)
        assert str(spark) == str(local), where
        return
    assert not isinstance(spark, BaseException), (where, spark)
    if isinstance(request, rq.Summary):
        for key in ("rows", "nulls", "nans", "pos_inf", "neg_inf", "count"):
            assert getattr(spark, key) == getattr(local, key), (where, key)
        assert spark.exact_integers == local.exact_integers, where
        for key in ("min", "max"):
            a, b = getattr(local, key), getattr(spark, key)
            assert (a == b and type(a) is type(b)) or (math.isnan(a) and math.isnan(b)), (where, key, a, b)
        for key in ("mean", "m2"):
            a, b = getattr(local, key), getattr(spark, key)
            assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=MOMENTS, abs_tol=1e-300), \
                (where, key, a, b)
    elif isinstance(request, rq.Counts):
        assert spark.values == local.values and spark.nulls == local.nulls and spark.rows == local.rows, where
    elif isinstance(request, rq.SortedValues):
        if isinstance(spark, SparkSample):
            assert spark.size == local.size, where
            for rank, value in spark.known.items():
                assert value == local[rank], (where, rank)
        else:
            assert np.array_equal(spark, local), where
    elif isinstance(request, (rq.Edges, rq.Histogram)):
        assert np.array_equal(spark, local), (where, local, spark)
    elif isinstance(request, rq.SampleWalk):
        assert spark.ks == local.ks and spark.sizes == local.sizes, (where, local.ks, spark.ks)
        assert math.isclose(spark.wasserstein, local.wasserstein, rel_tol=W1_BOUND, abs_tol=0), \
            (where, local.wasserstein, spark.wasserstein)
    elif isinstance(request, rq.KeyDuplicates):  # the most repeated keys: ties come in any order
        assert spark[:2] == local[:2] and [n for _, n in spark[2]] == [n for _, n in local[2]], (where, local, spark)
    elif isinstance(request, rq.ValueTest):  # failing examples: the first rows' locally, a few of them on Spark
        assert (spark.passing, spark.present) == (local.passing, local.present), (where, local, spark)
        assert bool(spark.failing_examples) == bool(local.failing_examples) and len(spark.failing_examples) <= 5, where
    else:
        assert spark == local, (where, local, spark)


EXACT_STATISTICS = {"rows", "null_rate", "distinct", "unique_rate", "unseen_rate", "out_of_range_rate", "min", "max",
                    "median", "ks", "ks_pvalue", "between"}


def exact(statistic: str | None) -> bool:
    """Statistics the Spark engine gives bit for bit: counts, rates, extremes, quantiles, KS."""
    import re

    return statistic in EXACT_STATISTICS or bool(re.fullmatch(r"p\d+(\.\d+)?", statistic or ""))


def same_results(contract, local_got, spark_got) -> None:
    """Every check: the same status, the same value (exact or within the stated tolerance)."""
    local, spark = evaluate(contract.checked, local_got, 0.0), evaluate(contract.checked, spark_got, 0.0)
    for a, b in zip(local.checks, spark.checks):
        if a.kind == "latency":  # timings of this machine, whatever the engine
            continue
        assert a.status == b.status, (a.source, a.status, b.status, a.message, b.message)
        if a.value is None or b.value is None:
            assert a.value == b.value and a.message == b.message, (a.source, a.message, b.message)
        elif exact(a.statistic):
            assert a.value == b.value and type(a.value) is type(b.value), (a.source, a.value, b.value)
        elif a.statistic == "wasserstein":
            assert math.isclose(a.value, b.value, rel_tol=W1_BOUND), (a.source, a.value, b.value)
        else:
            assert math.isclose(a.value, b.value, rel_tol=MOMENTS, abs_tol=1e-300), (a.source, a.value, b.value)


def compare(contract, session, frames=None):
    local_got = run_local(contract, frames)
    backend = spark_backend(session)
    spark_got = backend.run(contract.plan, Inputs.of(contract.checked, frames))
    for scan in contract.plan.scans:
        for request in scan.requests:
            if request not in local_got:  # sorted copies the local engine let go once their walks ran
                assert isinstance(request, rq.SortedValues), request
                continue
            same_value(request, local_got[request], spark_got[request])
    same_results(contract, local_got, spark_got)
    return backend, spark_got


# Every dataset on a classic session; over Spark Connect the three that exercise the most
# different SQL (NaN/inf and nulls, value counts of rare levels, BIGINT beyond 2**53), so that
# the Spark tests stay within a few minutes of CI.
SESSIONS_AND_DATASETS = [("classic", name) for name in DATASETS] + \
    [("connect", name) for name in ("missing", "categorical", "integers")]


@pytest.mark.parametrize(("kind", "name"), SESSIONS_AND_DATASETS)
def test_same_numbers_as_the_local_engine(spark_sessions, kind, datasets, name, tiny):
    """Bucket selection over several rounds, gathering in pieces, KS/W1 walked by Spark."""
    compare(mlcontract.compile(datasets / f"{name}.mlc"), spark_sessions[kind])


@pytest.mark.parametrize("name", ["missing"])
def test_same_numbers_with_the_default_bounds(spark, datasets, name):
    """The shipped bounds: one bucket round, samples of at most 10,000 values walked and
    p-valued on the driver exactly as locally (scipy's exact KS p-value)."""
    compare(mlcontract.compile(datasets / f"{name}.mlc"), spark)


@pytest.mark.parametrize("walked_by", ["driver", "spark"])
def test_small_samples_use_the_exact_ks_pvalue(classic, tmp_path, walked_by, monkeypatch):
    """Samples of at most 10,000 values: scipy's exact p-value, as locally, whether the KS walk
    ran on the driver (WALK_COLLECT) or in Spark (then the samples are collected for scipy)."""
    from mlcontract.engines.spark import scan

    if walked_by == "spark":
        monkeypatch.setattr(scan, "WALK_COLLECT", 0)
    rng = np.random.default_rng(3)
    pl.DataFrame({"x": rng.normal(0, 1, 300)}).write_parquet(tmp_path / "a.parquet")
    pl.DataFrame({"x": rng.normal(0.3, 1, 200)}).write_parquet(tmp_path / "b.parquet")
    contract = mlcontract.compile('dataset a = parquet("a.parquet")\ndataset b = parquet("b.parquet")\n'
                                  'feature x ks_pvalue >= 0 vs b\nfeature x wasserstein >= 0 vs b\n', base_dir=tmp_path)
    _, got = compare(contract, classic)
    from scipy.stats import ks_2samp

    a, b = pl.read_parquet(tmp_path / "a.parquet")["x"], pl.read_parquet(tmp_path / "b.parquet")["x"]
    walked = got[rq.SampleWalk("a", "x", "b")]
    assert walked.sizes == (300, 200) and walked.samples is not None and walked.samples[0].size == 300
    assert evaluate(contract.checked, got, 0).checks[0].value == ks_2samp(a, b).pvalue


# ---- the demo and the conformance contracts --------------------------------------------------------------
def test_demo_contract(spark):
    """The demo contract: its data checks on Spark; its model, robustness and training-history
    checks on the driver, on the datasets collected from Spark (latencies are timings)."""
    compare(mlcontract.compile(ROOT / "contracts" / "demo.mlc"), spark)


def test_conformance_contract(classic, conformance):
    """The conformance contract: data checks on Spark, model checks on the driver with the
    datasets collected from Spark; the same verdicts and values (latencies are timings)."""
    contract = mlcontract.compile(conformance / "churn.mlc", allow_pickle=True)
    local_got = run_local(contract)
    spark_got = run_spark(contract, classic)
    for request in contract.plan.requests:
        if request.dataset is not None and request in local_got:
            same_value(request, local_got[request], spark_got[request])
    local, spark = evaluate(contract.checked, local_got, 0), evaluate(contract.checked, spark_got, 0)
    for a, b in zip(local.checks, spark.checks):
        if a.kind == "latency":  # timings of this machine, whatever the engine (a loaded CI runner may fail them)
            continue
        assert a.status == b.status == "pass", (a.source, a.message, b.message)
        assert a.value == pytest.approx(b.value, rel=1e-12), a.source


# ---- the distributed arithmetic against oracles ------------------------------------------------------------
def test_exact_sums_against_fractions(spark):
    from mlcontract.engines.spark import describe_error, sql as sq

    rng = np.random.default_rng(5)
    groups = {
        "wide": np.concatenate([rng.normal(0, 1, 500) * 10.0 ** rng.integers(-300, 300, 500), [5e-324, -5e-324]]),
        "cancelling": np.concatenate([[1e16, -1e16, 1.0, 3e-17] * 50, rng.normal(0, 1e-3, 100)]),
        "huge": np.array([1.7e308, -1.6e308, 1e308, 1.0]),
        "tiny": np.array([5e-324, 1e-310, -2e-320, 0.0]),
    }
    runner = sq.Runner(spark, describe_error)
    import pyarrow as pa

    for name, values in groups.items():
        frame = runner.frame(pa.table({"y": values}))
        exact = sq.ExactSum(sq.exponent_above(float(np.max(np.abs(values)))))
        found = runner.row("SELECT " + ", ".join(exact.aggregates("y")) + " FROM {frame}", name, frame=frame)
        truth = sum(Fraction(v) for v in values.tolist())
        # exact down to 2**(E - 26 * limbs); the values below that are summed in DOUBLE
        bound = Fraction(values.size) * Fraction(2) ** (exact.exponent - 26 * exact.limbs - 52)
        assert abs(exact.value(found) - truth) <= bound, name
        assert float(exact.value(found)) == float(truth), name
        if name in ("huge", "tiny"):  # what lies below 2**(E - 26 * limbs) sums exactly in DOUBLE
            assert exact.value(found) == truth, name


def test_order_statistics_against_a_sort(spark, tiny):
    """Ranks picked by bucket selection are np.sort's, on data built to defeat buckets: a huge
    outlier, a pile of ties, subnormals, values two ulps apart."""
    import pyarrow as pa

    from mlcontract.engines.spark import buckets, describe_error, sql as sq

    rng = np.random.default_rng(7)
    values = np.concatenate([np.zeros(3000), rng.normal(0, 1, 2000), [1e300, -1e300, 5e-324, 1e-310],
                             np.nextafter(1.0, 2.0) + np.arange(3) * 2.2e-16, np.full(500, 7.25)])
    runner = sq.Runner(spark, describe_error)
    frame = runner.frame(pa.table({"v": values}))
    ranks = np.unique(rng.integers(0, values.size, 60))
    sample = buckets.Sample(frame, sq.NumericColumn("`v`", floating=True, is_double=True), values.size,
                            float(values.min()), float(values.max()))
    rounds = buckets.Rounds(runner, "v")
    by_rank, every = rounds.ranks(sample, ranks), rounds.ranks(sample, None)
    rounds.run()
    ordered = np.sort(values)
    assert [by_rank.value[r] for r in ranks.tolist()] == ordered[ranks].tolist()
    assert [by_rank.below[r] for r in ranks.tolist()] == np.searchsorted(ordered, ordered[ranks], "left").tolist()
    assert np.array_equal(every.values, ordered)


def test_the_driver_never_receives_the_rows(classic, tmp_path, tiny, monkeypatch):
    """Every Spark result that reaches the driver is bounded by the engine's constants, not by
    the rows: here no query returns more than GATHER_BUDGET rows for 120,000-row datasets."""
    from mlcontract.engines.spark import buckets, sql as sq

    monkeypatch.setattr(buckets, "MAX_INTERVALS", 64)  # tiny's 3 take a round per 3 buckets: minutes here
    rng = np.random.default_rng(11)
    for name, seed in (("a", 1), ("b", 2)):
        pl.DataFrame({"x": rng.normal(seed / 10, 1, 120_000), "y": rng.lognormal(0, 2, 120_000),
                      "c": rng.choice(["p", "q", "r"], 120_000)}).write_parquet(tmp_path / f"{name}.parquet")
    contract = mlcontract.compile('dataset a = parquet("a.parquet")\ndataset b = parquet("b.parquet")\n'
                                  "feature x psi < 1 vs b\nfeature y ks < 1 vs b\nfeature y wasserstein >= 0 vs b\n"
                                  "feature x p99 <= 10\nfeature x std <= 2\nfeature c psi < 1 vs b\n", base_dir=tmp_path)
    largest = []
    table = sq.Runner.table

    def recorded(self, text, what, **frames):
        result = table(self, text, what, **frames)
        copied = sum(1 for kind in result.column("kind").to_pylist() if kind == 1) if "kind" in result.column_names else 0
        largest.append((copied, result.num_rows))
        return result

    monkeypatch.setattr(sq.Runner, "table", recorded)
    compare(contract, classic)
    # copied values: at most GATHER_BUDGET a query; bucket rows: the ones that hold a wanted
    # rank or a walk's sign change, a few hundred here
    assert largest and max(copied for copied, _ in largest) <= buckets.GATHER_BUDGET
    assert max(total for _, total in largest) <= buckets.GATHER_BUDGET + 2_000 < 120_000


def test_a_scan_combines_its_work_into_few_queries(classic, datasets):
    """Summary statistics of every column of a dataset: pass A and pass B, whatever the columns."""
    contract = mlcontract.compile("dataset cur = parquet(\"missing_cur.parquet\")\n"
                                  "feature x mean <= 5\nfeature z std <= 5\nfeature x min >= -10\n"
                                  "feature z max <= 10\nfeature x null_rate <= 1\nfeature x between -10 and 10\n"
                                  "cur rows >= 1\n", base_dir=datasets)
    backend, _ = compare(contract, classic)
    assert backend.queries == 2


def _drift_frame(n: int, seed: int, shift: float) -> pl.DataFrame:
    """bench/spark.py's data, smaller: normal columns with 1% NaN, Zipf categories."""
    rng = np.random.default_rng(seed)
    columns: dict = {}
    for i in range(6):
        x = rng.normal(shift * (i % 3 == 0), 1 + 0.1 * i, n)
        x[rng.random(n) < 0.01] = np.nan
        columns[f"num_{i}"] = x
    levels = np.array([f"c{j}" for j in range(50)])
    p = np.arange(1, 51, dtype=float) ** -1.0
    for i in range(2):
        columns[f"cat_{i}"] = levels[rng.choice(50, n, p=p / p.sum())]
    return pl.DataFrame(columns, nan_to_null=False)


def test_a_drift_contract_takes_a_few_queries_per_scan(classic, tmp_path):
    """bench/spark.py's contract (psi of every column, mean, std, p95, KS and Wasserstein of
    some): each scan is its aggregates, its value counts and at most two bucket rounds — the
    KS/Wasserstein walks ride on the current's bucket round — and a current scan of histograms
    on the reference's edges is one query (issue 11: one job per scan where the plan allows)."""
    _drift_frame(30_000, 1, 0.0).write_parquet(tmp_path / "ref.parquet")
    _drift_frame(25_000, 2, 0.1).write_parquet(tmp_path / "cur.parquet")
    header = 'dataset current = parquet("cur.parquet")\ndataset reference = parquet("ref.parquet")\n'
    checks = [f"feature num_{i} psi < 10 vs reference" for i in range(6)]
    detailed = [line for i in (0, 1) for line in (f"feature num_{i} mean <= 100", f"feature num_{i} std <= 100",
                f"feature num_{i} p95 <= 100", f"feature num_{i} ks <= 1 vs reference",
                f"feature num_{i} wasserstein <= 100 vs reference")]
    categorical = [f"feature cat_{i} psi < 10 vs reference" for i in range(2)]
    backend, _ = compare(mlcontract.compile(header + "\n".join(checks + detailed + categorical) + "\n",
                                            base_dir=tmp_path), classic)
    assert _queries_by_scan(backend) == {"reference": (1, 3), "current": (2, 3)}, backend.log
    backend, _ = compare(mlcontract.compile(header + "\n".join(checks[:4]) + "\n", base_dir=tmp_path), classic)
    assert _queries_by_scan(backend) == {"reference": (1, 2), "current": (1, 0)}, backend.log  # bucket round, copies


def _queries_by_scan(backend) -> dict[str, tuple[int, int]]:
    """{dataset: (queries of the aggregates — one per AGGREGATES_PER_QUERY —, the other queries)}."""
    found, log = {}, list(backend.log)
    for dataset, count, _, _ in backend.scans:
        mine, log = log[:count], log[count:]
        first = sum(what.startswith("the counts and extremes") for what, _, _ in mine)
        found[dataset] = (first, count - first)
    return found


def test_walks_against_the_local_merge_walk(spark, tiny):
    """KS D and W1 by bucket rounds against the local kernel's merge walk, on samples built to
    defeat buckets: identical samples (a sign change in every bucket), ties across the samples,
    one constant sample, values near float64's limit (W1 beyond it), subnormals."""
    from mlcontract.engines.spark import buckets, describe_error, scan, sql as sq
    from mlcontract.statistics.formulas import walk

    rng = np.random.default_rng(13)
    same = rng.normal(0, 1, 3000)
    cases = {
        "identical": (same, same.copy()),
        "shifted": (rng.normal(0, 1, 3000), rng.normal(0.1, 1, 2500)),
        "ties": (rng.integers(0, 6, 3000).astype(float), rng.integers(0, 5, 2000).astype(float)),
        "constant": (np.full(1500, 2.5), rng.normal(2.5, 1, 1800)),
        "huge": (rng.uniform(-1, 1, 1200) * 1.7e308, rng.uniform(-1, 1, 1300) * 1.6e308),
        "subnormal": (rng.integers(1, 50, 1500) * 5e-324, rng.integers(0, 60, 1600) * 5e-324),
    }
    runner = sq.Runner(spark, describe_error)
    for name, (a, b) in cases.items():
        a, b = np.sort(a), np.sort(b)
        mine, theirs = scan.array_side(a), scan.array_side(b)
        rounds = buckets.Rounds(runner, name)
        pair = rounds.walk(mine.sample(runner), theirs.sample(runner))
        rounds.run()
        found, expected = scan.spark_walk(pair, mine, theirs, None), walk(a, b)
        assert found.ks == expected.ks, (name, found.ks, expected.ks)
        assert found.exponent == expected.exponent, name
        assert math.isclose(found.scaled_wasserstein, expected.scaled_wasserstein, rel_tol=W1_BOUND, abs_tol=0), \
            (name, found.scaled_wasserstein, expected.scaled_wasserstein)


# ---- sources --------------------------------------------------------------------------------------------
def test_uris_folders_and_tables(spark, tmp_path):
    """A file:// URI, a folder of hive-partitioned parquet, and a catalog table read the rows
    the local engine reads from the same files."""
    from mlcontract.resolve.contract import DatasetSource

    rng = np.random.default_rng(2)
    frame = pl.DataFrame({"x": rng.normal(0, 1, 3000), "part": rng.integers(0, 3, 3000)})
    (tmp_path / "folder").mkdir()
    for part in range(3):
        folder = tmp_path / "folder" / f"part={part}"
        folder.mkdir()
        frame.filter(pl.col("part") == part).drop("part").write_parquet(folder / "data.parquet")
    frame.write_parquet(tmp_path / "flat.parquet")
    text = ('dataset flat = parquet("flat.parquet")\ndataset folder = parquet("folder")\n'
            "feature x psi < 1 vs folder\nfeature x mean <= 1\nfeature x ks < 1 vs folder\nflat rows >= 1\n"
            "folder rows >= 1\n")
    contract = mlcontract.compile(text, base_dir=tmp_path)
    local = run_local(contract)
    backend = spark_backend(spark)
    flat = contract.checked.datasets["flat"]
    uri = DatasetSource("flat", "parquet", flat.path, written=(tmp_path / "flat.parquet").as_uri())
    contract.checked.datasets["flat"] = uri
    got = backend.run(contract.plan, Inputs.of(contract.checked))
    same_results(contract, local, got)
    assert got[rq.RowCount("folder")] == 3000
    # a catalog table: table("name") reads it through the session's catalog
    spark.read.parquet(str(tmp_path / "flat.parquet")).createOrReplaceTempView("mlc_flat")
    contract.checked.datasets["flat"] = DatasetSource("flat", "table", None, options=(("table", "mlc_flat"),))
    same_results(contract, local, backend.run(contract.plan, Inputs.of(contract.checked)))


def test_spark_failures_are_one_line_errors(classic, tmp_path):
    """Missing path, unknown URI scheme, corrupt file, files whose types disagree, met while a job runs, a table
    that does not exist, an IPC file: `error` results with one escaped line, no JVM trace."""
    from mlcontract.resolve.contract import DatasetSource

    pl.DataFrame({"x": [1.0, 2.0]}).write_parquet(tmp_path / "ok.parquet")
    (tmp_path / "corrupt.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    # files whose footers read but whose types disagree: the failure comes while the job runs
    (tmp_path / "mixed").mkdir()
    pl.DataFrame({"x": np.arange(2000, dtype=np.float64)}).write_parquet(tmp_path / "mixed" / "a.parquet")
    pl.DataFrame({"x": [f"text {i}" for i in range(2000)]}).write_parquet(tmp_path / "mixed" / "b.parquet")
    pl.DataFrame({"x": [1.0]}).write_ipc(tmp_path / "data.arrow")
    # a folder whose second file is cut short: Spark wraps the reader's error in the job's
    (tmp_path / "cut").mkdir()
    pl.DataFrame({"x": [1.0, 2.0]}).write_parquet(tmp_path / "cut" / "a.parquet")
    (tmp_path / "cut" / "b.parquet").write_bytes((tmp_path / "cut" / "a.parquet").read_bytes()[:300])
    contract = mlcontract.compile('dataset d = parquet("ok.parquet")\nfeature x mean <= 5\nfeature x psi < 1 vs d\n'
                                  "d rows >= 1\n", base_dir=tmp_path)
    cases = {
        "missing": DatasetSource("d", "parquet", tmp_path / "nope.parquet", written="nope.parquet"),
        "scheme": DatasetSource("d", "parquet", None, written="nosuchfs://bucket/data.parquet"),
        "corrupt": DatasetSource("d", "parquet", tmp_path / "corrupt.parquet", written="corrupt.parquet"),
        "table": DatasetSource("d", "table", None, options=(("table", "no_such_table_anywhere"),)),
        "ipc": DatasetSource("d", "ipc", tmp_path / "data.arrow", written="data.arrow"),
        "mixed types": DatasetSource("d", "parquet", tmp_path / "mixed", written="mixed"),
        "cut": DatasetSource("d", "parquet", tmp_path / "cut", written="cut"),
    }
    for case, source in cases.items():
        contract.checked.datasets["d"] = source
        result = evaluate(contract.checked, run_spark(contract, classic), 0)
        for check in result.checks:
            assert check.status == "error", (case, check.message)
            assert "\n" not in check.message and "\tat " not in check.message and "Traceback" not in check.message
            assert len(check.message) < 700, (case, check.message)
        assert {"missing": "file not found", "scheme": "nosuchfs", "corrupt": "corrupt.parquet",
                "table": "no_such_table_anywhere", "ipc": "Arrow IPC", "mixed types": "b.parquet. Data type mismatches",
                "cut": "b.parquet is not a Parquet file"}[case] in result.checks[0].message, (case, result.checks[0].message)


def test_an_unreachable_cluster_is_an_error_in_seconds(monkeypatch):
    import time

    from mlcontract.engines import spark as sp
    from mlcontract.engines.spark import session

    monkeypatch.setattr(session, "CONNECT_RETRIES", 1)
    started = time.perf_counter()
    with pytest.raises(sp.SparkUnavailable, match="cannot reach Spark Connect at sc://127.0.0.1:1: .*"):
        sp.start_session(remote="sc://127.0.0.1:1")
    assert time.perf_counter() - started < 60
    contract = mlcontract.compile("dataset d = parquet(\"contracts/data/train.parquet\")\nd rows >= 1\n", base_dir=ROOT)
    got = run_spark(contract, remote="sc://127.0.0.1:1")
    assert got and all(isinstance(v, CheckError) and "sc://127.0.0.1:1" in str(v) for v in got.values())


def test_escapes_outside_text_in_errors(classic, tmp_path):
    """A path from the contract that carries a workflow command comes back escaped."""
    from mlcontract.resolve.contract import DatasetSource

    pl.DataFrame({"x": [1.0]}).write_parquet(tmp_path / "x.parquet")
    contract = mlcontract.compile('dataset d = parquet("x.parquet")\nd rows >= 1\n', base_dir=tmp_path)
    contract.checked.datasets["d"] = DatasetSource("d", "parquet", None, written="nosuchfs://x/::error::boom\x1b[31m")
    message = str(run_spark(contract, classic)[rq.RowCount("d")])
    assert "::error::" not in message and "\x1b" not in message


# ---- model work, caps ----------------------------------------------------------------------------------------
def test_model_checks_collect_up_to_the_row_cap(classic, tmp_path, monkeypatch):
    import joblib
    from sklearn.linear_model import LogisticRegression

    from mlcontract.engines.spark import backend as sp

    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, (400, 2))
    label = (x[:, 0] + rng.normal(0, 0.5, 400) > 0).astype(int)
    pl.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": label}).write_parquet(tmp_path / "holdout.parquet")
    joblib.dump(LogisticRegression().fit(x, label), tmp_path / "m.joblib")
    contract = mlcontract.compile('dataset holdout = parquet("holdout.parquet")\nmodel m = sklearn("m.joblib")\n'
                                  "label y\nauc on holdout >= 0.5\naccuracy on holdout >= 0.5\n"
                                  "feature a mean <= 1\n", base_dir=tmp_path, allow_pickle=True)
    compare(contract, classic)
    monkeypatch.setattr(sp, "MAX_COLLECT_ROWS", 100)
    result = evaluate(contract.checked, run_spark(contract, classic), 0)
    statuses = [c.status for c in result.checks]
    assert statuses == ["error", "error", "pass"], [c.message for c in result.checks]
    assert "more than 100 rows" in result.checks[0].message and "MAX_COLLECT_ROWS" in result.checks[0].message


def test_value_counts_beyond_the_key_cap_are_errors(classic, datasets, monkeypatch):
    from mlcontract.engines.spark import scan as sp

    monkeypatch.setattr(sp, "MAX_COUNTED_KEYS", 10)
    contract = mlcontract.compile(datasets / "categorical.mlc")
    got = run_spark(contract, classic)
    assert "MAX_COUNTED_KEYS" in str(got[rq.Counts("cur", "c")])
    assert got[rq.Counts("cur", "d")].values.keys() == {"x", "y", "z"}  # three values: under the cap


# ---- profiles -------------------------------------------------------------------------------------------------
def test_profile_equals_the_local_profile(spark, tmp_path, tiny):
    """`mlc profile DATA --engine spark` writes the local engine's profile: grids, kept values,
    fine counts, categories, summaries (moments to 1e-12)."""
    rng = np.random.default_rng(8)
    n = 9_000
    big = rng.normal(0, 1, n)
    big[rng.random(n) < 0.02] = np.nan
    frame = pl.DataFrame({
        "big": big, "tied": rng.integers(0, 4, n).astype(np.int64), "few": pl.Series([1.5 if i < 2000 else None for i in range(n)], dtype=pl.Float64),
        "cat": rng.choice(["a", "b", "c", None], n).tolist(), "flag": rng.random(n) < 0.5,
        "day": pl.Series(rng.integers(0, 100, n)).cast(pl.Date),
    }, nan_to_null=False)
    frame.write_parquet(tmp_path / "p.parquet")
    local = mlcontract.profile(tmp_path / "p.parquet").to_json()
    from mlcontract.engines.spark import SparkBackend

    spark_profile = SparkBackend(Settings(options={"session": spark})).profile(str(tmp_path / "p.parquet")).to_json()
    local.pop("created"), spark_profile.pop("created")
    local_columns, spark_columns = local.pop("columns"), spark_profile.pop("columns")
    assert local == spark_profile
    assert list(local_columns) == list(spark_columns)
    for name, column in local_columns.items():
        other = spark_columns[name]
        summary, other_summary = column.pop("summary", None), other.pop("summary", None)
        categories, other_categories = column.pop("categories", None), other.pop("categories", None)
        assert column == other, name
        if categories is not None:
            assert sorted(map(tuple, categories), key=repr) == sorted(map(tuple, other_categories), key=repr)
        if summary is not None:
            for key, value in summary.items():
                if key in ("mean", "m2"):
                    assert other_summary[key] == pytest.approx(value, rel=MOMENTS), (name, key)
                elif key != "mean_lo":
                    assert other_summary[key] == value and type(other_summary[key]) is type(value), (name, key)


# ---- the engine chosen through the API and the CLI (issue 11, items 2-5) --------------------------------
def same_run_results(local, spark) -> None:
    """Two RunResults of one contract: the same statuses, the same values (stated tolerances)."""
    assert [c.source for c in local.checks] == [c.source for c in spark.checks]
    for a, b in zip(local.checks, spark.checks):
        if a.kind == "latency":  # timings of this machine, whatever the engine
            continue
        assert a.status == b.status, (a.source, a.message, b.message)
        if a.value is None or b.value is None:
            assert a.value == b.value, (a.source, a.message, b.message)
        elif exact(a.statistic):
            assert a.value == b.value, (a.source, a.value, b.value)
        else:
            assert math.isclose(a.value, b.value, rel_tol=MOMENTS if a.statistic != "wasserstein" else W1_BOUND,
                                abs_tol=1e-300), (a.source, a.value, b.value)


@pytest.fixture
def spark_runs(monkeypatch):
    """The sessions each SparkBackend.run used, in order (which engine ran, on which session)."""
    from mlcontract.engines.spark import SparkBackend

    used = []
    original = SparkBackend.run

    def recorded(self, plan, inputs):
        used.append(self.session)
        return original(self, plan, inputs)

    monkeypatch.setattr(SparkBackend, "run", recorded)
    return used


def test_run_on_spark_through_the_api(spark, datasets, spark_runs):
    """contract.run(engine="spark", spark=session): the Spark engine on that session, the local
    engine's results (the contract compiled for the local engine is resolved again by Spark)."""
    contract = mlcontract.compile(datasets / "ties.mlc")
    same_run_results(contract.run(), contract.run(engine="spark", spark=spark))
    assert spark_runs == [spark]
    compiled = mlcontract.compile(datasets / "ties.mlc", engine="spark", spark=spark)  # compiled for Spark
    same_run_results(contract.run(), compiled.run())
    assert spark_runs == [spark, spark]


def test_a_spark_dataframe_as_a_dataset_runs_on_spark(spark, datasets, spark_runs):
    frame = spark.read.parquet(str(datasets / "integers_cur.parquet"))
    contract = mlcontract.compile(datasets / "integers.mlc")
    local = contract.run()
    same_run_results(local, contract.run(datasets={"cur": frame}))
    assert spark_runs == [spark]
    same_run_results(local, mlcontract.compile(datasets / "integers.mlc", datasets={"cur": frame}).run())
    assert spark_runs == [spark, spark]
    with pytest.raises(mlcontract.errors.UsageError, match="runs on the Spark engine"):
        contract.run(datasets={"cur": frame}, engine="local")


def test_table_datasets_on_spark(spark, tmp_path):
    """table("name") reads the session catalog's table: the numbers of the same rows read locally."""
    rng = np.random.default_rng(12)
    for name, shift in (("cur", 0.2), ("ref", 0.0)):
        pl.DataFrame({"x": rng.normal(shift, 1, 5000), "c": rng.choice(["a", "b", "c"], 5000)}) \
            .write_parquet(tmp_path / f"{name}.parquet")
    spark.read.parquet(str(tmp_path / "cur.parquet")).createOrReplaceTempView("mlc_orders")
    checks = "feature x psi < 1 vs ref\nfeature x p90 <= 5\nfeature c js < 1 vs ref\nfeature x mean <= 1\ncur rows >= 1\n"
    local = mlcontract.compile('dataset cur = parquet("cur.parquet")\ndataset ref = parquet("ref.parquet")\n' + checks,
                               base_dir=tmp_path).run()
    text = 'dataset cur = table("mlc_orders")\ndataset ref = parquet("ref.parquet")\n' + checks
    same_run_results(local, mlcontract.compile(text, base_dir=tmp_path, spark=spark).run())
    missing = mlcontract.compile(text.replace("mlc_orders", "no_such_table_here"), base_dir=tmp_path, spark=spark).run()
    statuses = {c.source: c.status for c in missing.checks}
    assert statuses["feature x psi < 1 vs ref"] == "error" and not missing.passed
    assert "no_such_table_here" in missing.checks[0].message and "\n" not in missing.checks[0].message




def test_cli_unreachable_cluster_exits_2_without_a_trace(tmp_path, monkeypatch):
    """`--spark-remote` to nothing: exit 2 with one line, in seconds, no JVM or gRPC trace."""
    import subprocess
    import sys

    (tmp_path / "c.mlc").write_text('dataset d = parquet("d.parquet")\nd rows >= 1\n')
    pl.DataFrame({"x": [1.0]}).write_parquet(tmp_path / "d.parquet")
    done = subprocess.run([sys.executable, "-m", "mlcontract", "check", str(tmp_path / "c.mlc"), "--engine", "spark",
                           "--spark-remote", "sc://127.0.0.1:1"], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")})
    assert done.returncode == 2, done.stderr
    assert "cannot reach Spark Connect at sc://127.0.0.1:1" in done.stderr
    assert "Traceback" not in done.stderr and "\tat " not in done.stderr


def test_cli_spark_logs_nothing_of_its_own(tmp_path):
    """A Spark the CLI starts logs nothing (log4j2.properties): a job that fails on a file
    whose name carries a workflow command is the check's one escaped line, and stderr holds no
    JVM stack trace, no Spark log line and no pyspark warning — only what Java itself prints."""
    import subprocess
    import sys

    folder = tmp_path / "parts"
    folder.mkdir()
    pl.DataFrame({"x": [1.0, 2.0]}).write_parquet(folder / "a.parquet")
    (folder / "b\n::error::x.parquet").write_bytes((folder / "a.parquet").read_bytes()[:300])  # cut short
    (tmp_path / "c.mlc").write_text('dataset d = parquet("parts")\nfeature x mean <= 5\n')
    done = subprocess.run([sys.executable, "-m", "mlcontract", "check", str(tmp_path / "c.mlc"), "--engine", "spark",
                           "--spark-master", "local[1]"], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED_READ_FILE" in done.stdout, done.stdout
    for line in (done.stdout + done.stderr).splitlines():
        assert not line.lstrip().startswith("::"), line
    noise = [line for line in done.stderr.splitlines() if line and not line.startswith("WARNING: Using incubator modules")]
    assert noise == [], done.stderr[-3000:]


def test_cli_check_on_spark(classic, datasets, tmp_path):
    """`mlc check --engine spark --spark-master local[2] --spark-conf ...`: the local engine's
    JSON results (in this process: the session is the test run's)."""
    import json

    from mlcontract.cli import main

    codes = {}
    for engine in ("local", "spark"):
        extra = ["--engine", "spark", "--spark-master", "local[2]", "--spark-conf", "spark.sql.shuffle.partitions=4"] \
            if engine == "spark" else []
        codes[engine] = main(["check", str(datasets / "skewed.mlc"), "--quiet", "--terminal", "none",
                              "--json", str(tmp_path / f"{engine}.json"), *extra])
    assert codes["local"] == codes["spark"]
    local, spark = (json.loads((tmp_path / f"{e}.json").read_text()) for e in ("local", "spark"))
    for a, b in zip(local["checks"], spark["checks"]):
        assert a["status"] == b["status"] and a["source"] == b["source"]
        assert a["value"] == pytest.approx(b["value"], rel=MOMENTS), a["source"]


def test_cli_profile_on_spark_writes_the_local_profile(classic, tmp_path):
    """`mlc profile DATA --engine spark -o x.profile.json` (in this process: the session is the
    test run's): the profile `mlc profile DATA` writes, the moments to 1e-12."""
    import json

    from mlcontract.cli import main

    rng = np.random.default_rng(21)
    n = 6000
    pl.DataFrame({"x": rng.lognormal(0, 1, n), "k": rng.integers(0, 9, n), "c": rng.choice(["u", "v", None], n).tolist()}) \
        .write_parquet(tmp_path / "d.parquet")
    for engine, out in (("local", "local.json"), ("spark", "spark.json")):
        extra = ["--engine", "spark", "--spark-master", "local[2]"] if engine == "spark" else []
        assert main(["profile", str(tmp_path / "d.parquet"), "-o", str(tmp_path / out), *extra]) == 0
    local, spark = (json.loads((tmp_path / f).read_text()) for f in ("local.json", "spark.json"))
    for name, column in local["columns"].items():
        for key in ("mean", "m2"):
            if column.get("summary"):
                assert spark["columns"][name]["summary"][key] == pytest.approx(column["summary"][key], rel=MOMENTS)
    for profile in (local, spark):
        profile.pop("created")
        for column in profile["columns"].values():
            summary = column.get("summary") or {}
            for key in ("mean", "m2", "mean_lo"):  # compared above (mean_lo: a rounding remainder)
                summary.pop(key, None)
            if column.get("categories"):
                column["categories"] = sorted(map(tuple, column["categories"]), key=repr)
    assert local == spark


# ---- views, keys, value tests, dates (issue 11: every request on Spark) --------------------------------------
def _views_data(n: int, seed: int, shift: float) -> pl.DataFrame:
    """Strings for the value tests, dates and datetimes (naive and UTC), keys with repeats,
    missing markers, NaN, unicode comments for lengths."""
    import datetime as dt
    import uuid

    rng = np.random.default_rng(seed)

    def pick(options, p_null=0.05):
        out = [options[i] for i in rng.integers(0, len(options), n)]
        return [None if rng.random() < p_null else v for v in out]
    uids = [str(uuid.UUID(int=int(rng.integers(0, 2**62)) << 64 | int(rng.integers(0, 2**62)))) for _ in range(50)]
    uid = pick(uids + [u.upper() for u in uids[:5]] + ["not-a-uuid", uids[0] + "x", " " + uids[1]])
    email = pick([f"user{i}@example.com" for i in range(40)] + ["no-at", "a@b", "x y@z.com", "é@ü.de", "two@@x.io"])
    int_text = pick(["12", "+5", "-3", "007", "1e3", "abc", " 4", "9223372036854775807", "9223372036854775808",
                     "-9223372036854775808", "٣", "", "1_000"])
    num_text = pick(["1.5", "inf", "-Infinity", "NaN", ".5", "5.", "1e-3", "x", "1d", " 2", "+.5e3", "0x10"])
    day_text = pick(["2024-01-31", "2024-02-30", "31/01/2024", "2023-12-01", "20240101"])
    payload = pick(['{"a": 1}', "[1, 2]", "nope", "NaN", '"text"', "{", "null", "1e5"])
    day = pl.Series([dt.date(2020, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 2000, n)])
    ts = pl.Series([dt.datetime(2021, 1, 1) + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 10**8, n)])
    age = rng.integers(0, 90, n)
    age[rng.random(n) < 0.05] = -1
    age[rng.random(n) < 0.03] = 999
    income = rng.lognormal(10 + shift, 1, n)
    income[rng.random(n) < 0.02] = np.nan
    k3 = np.round(rng.random(n), 1)
    k3[rng.random(n) < 0.05] = np.nan
    comment = pick(["", "ok", "héllo wörld", "emoji 🎉🎉", "a" * 40, "tab\tand\nnewline", "日本語テキスト"])
    frame = pl.DataFrame({
        "uid": uid, "email": email, "int_text": int_text, "num_text": num_text, "day_text": day_text,
        "payload": payload, "day": day, "ts": ts, "tz": ts.dt.replace_time_zone("UTC"),
        "age": age, "income": income, "country": pick(["US", "FR", "DE", "", "N/A"]),
        "k1": rng.integers(0, n * 2, n), "k2": pick(["a", "b", "c"]), "k3": k3, "comment": comment,
    }, nan_to_null=False)
    day_nulls = pl.Series(rng.random(n) < 0.05)
    return frame.with_columns(pl.when(day_nulls).then(None).otherwise(pl.col("day")).alias("day"),
                              pl.when(day_nulls).then(None).otherwise(pl.col("tz")).alias("tz"))


VIEW_CHECKS = [
    'missing age = (-1, 999)', 'missing country = ("", "N/A")',
    'feature email matches "^[^@ ]+@[^@ ]+$" >= 1%', "feature email is email >= 1%", "feature uid is uuid >= 1%",
    'feature uid matches "(?i)^[0-9a-f-]+$" >= 1%', 'feature email matches "\\\\w+@\\\\w+\\\\.\\\\w+" >= 1%',
    "feature int_text is integer >= 1%", "feature num_text is number >= 1%", 'feature day_text is date "%Y-%m-%d" >= 1%',
    "feature payload is json >= 1%", "feature day_text is date >= 1%",
    "cur unique (k1)", "cur duplicate_count (k1, k2) <= 100000", "cur duplicate_count (k3, k2) <= 100000",
    "cur unique (k2, k3) where age >= 18", "feature k3 duplicate_count <= 100000",
    "freshness of cur by day <= 100000d as of 2026-01-31T00:00Z", "freshness of cur by tz <= 100000d as of 2026-01-31T00:00Z",
    "freshness of cur by ts <= 100000d as of 2026-01-31T00:00Z",
    "feature day between 2020-01-01 and 2024-06-30", "feature ts between 2021-01-01T00:00 and 2023-06-30T00:00",
    "feature tz between 2021-01-01T00:00Z and 2023-06-30T00:00+02:00", "feature day min >= 2000-01-01",
    "feature tz max <= 2100-01-01T00:00Z", "feature ts max <= 2100-01-01T00:00",
    "feature age mean <= 100", "feature age null_rate <= 100%", "feature country distinct >= 1",
    "feature country null_rate <= 100%", "feature country psi < 10 vs ref",
    'feature age where income > 1000 and country in ("US", null) mean <= 1000',
    "cur rows where age is null or income / age > 50 >= 0", 'cur rows where not (country in ("US", "FR")) >= 0',
    "feature income where day < 2023-01-01 p90 <= 1e9", "feature income where tz >= 2022-06-01T00:00+02:00 psi < 10 vs ref",
    "feature income where k3 != 0.5 ks < 1 vs ref", "feature income where k3 != 0.5 wasserstein >= 0 vs ref",
    "feature comment length max <= 1000", "feature comment length p50 <= 1000", "feature comment length mean <= 1000",
    "feature comment where age > 30 length p90 <= 1000", "feature income where -age < -40 or age * 2 == 60 max <= 1e12",
    "cur rows where income / (age - age) > 0 >= 0", "feature comment length psi < 10 vs ref",
    "feature email where comment is not null is email >= 1%",
]


@pytest.fixture(scope="session")
def views_contract(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("spark_views")
    _views_data(12_000, 1, 0.0).write_parquet(folder / "views_ref.parquet")
    _views_data(11_000, 2, 0.1).write_parquet(folder / "views_cur.parquet")
    header = 'dataset cur = parquet("views_cur.parquet")\ndataset ref = parquet("views_ref.parquet")\n'
    (folder / "views.mlc").write_text(header + "\n".join(VIEW_CHECKS) + "\n")
    return folder / "views.mlc"


def test_views_keys_value_tests_and_dates_equal_the_local_engine(spark, views_contract):
    """`where` views (three-valued logic, NaN as missing, IN with null, arithmetic, division by
    zero, dates and zoned datetimes), string lengths, `missing` markers, `unique` /
    `duplicate_count` keys, `matches` and every `is FORMAT`, freshness and date ranges: the local
    engine's values on a classic session and over Spark Connect."""
    contract = mlcontract.compile(views_contract)
    _, got = compare(contract, spark)
    statuses = {c.source: c.status for c in evaluate(contract.checked, got, 0).checks}
    assert "error" not in statuses.values(), statuses  # every check computed (none errs the same way on both)


def test_a_dataset_and_its_views_share_its_scans_queries(classic, views_contract):
    """A scan whose requests are on a dataset and on views of it (a `where`, string lengths, its
    missing markers) reads the dataset's one DataFrame in the same few queries: the aggregates,
    the value counts, the bucket rounds, one GROUP BY per key."""
    contract = mlcontract.compile(views_contract)
    merged = contract.plan  # the planner computes each root's views in the root's scan
    assert len(merged.scans) == 2 and any(scan.views for scan in merged.scans)
    local = run_local(contract)
    backend = spark_backend(classic)
    got = backend.run(merged, Inputs.of(contract.checked))
    for scan in contract.plan.scans:
        for request in scan.requests:
            if request in local:
                same_value(request, local[request], got[request])
    keys = sum(isinstance(r, rq.KeyDuplicates) for r in merged.requests)
    # per scan, besides its aggregates (a query per AGGREGATES_PER_QUERY): value counts, two bucket rounds
    others = sum(other for _, other in _queries_by_scan(backend).values())
    assert others <= 2 * 3 + keys, backend.log
