"""Views share their root dataset's scan (issue 13: "runs in one scan per dataset").

A view (`training where ...`, `training (string lengths)`) is planned inside the scan of the
declared dataset it is derived from: one scan per declared dataset and stage, whose columns
are read once; the local engine derives each view's rows from them (engines/views.py). The
results are the ones the views gave when each was read on its own, which the tests get back by
planning each view as its own dataset (`plan.root_dataset` made the identity).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import random
import weakref

import polars as pl
import pytest

import mlcontract
import mlcontract.plan as planner
from mlcontract.engines import local, views
from mlcontract.engines.base import Settings
from mlcontract.engines.local import LocalBackend
from mlcontract.plan import requests as rq

from golden import FIXTURES

AS_OF = _dt.datetime(2026, 1, 31, tzinfo=_dt.timezone.utc)

# The examples of every family of issue 13 (docs/language.md 4.9-4.18), without the two whose
# value is the clock's (freshness against now), and more views: conditions on every column type.
FAMILIES = """\
dataset training = parquet("training.parquet")
dataset production = parquet("production.parquet")
metrics monitoring = json("monitoring/prod.json")
missing country = ("", "?", "N/A")
missing age = (-1, 999)
feature plan in ("basic", "pro", "plus")
feature plan not in ("trial") >= 99%
feature country in ("US", "FR", null) count >= 100
feature churned in (0, 1)
feature age sum <= 100000
feature plan null_count == 0
feature customer_id duplicate_count == 0
feature country distinct_rate <= 5%
feature active true_rate >= 50%
feature active mean >= 0.5
feature active most_common == true
feature age of training where plan == "pro" mean <= 120
feature age where country in ("US", "FR") and not (plan == "basic") between 18 and 90
training rows where age < 18 == 0
training rows where country is null or churned == 1 <= 300
feature plan where churned == 1 in ("basic", "pro", "plus")
training unique (customer_id)
training unique (customer_id, plan) where age >= 18
training duplicate_count (plan, country) <= 400
feature email matches "^[^@ ]+@[^@ ]+$" >= 99%
feature customer_key is uuid
feature signup_text is date "%Y-%m-%d"
feature payload is json >= 99.9%
feature comment length max <= 500
feature comment length p99 <= 280
feature plan length between 1 and 80
feature customer_id type Int64
feature age type float
feature plan, country type string
training columns >= 5
training columns include (customer_id, plan)
training columns exclude (ssn, email_raw)
schema of training matches production strictly
feature updated_at max >= 2020-01-01T00:00Z
feature updated_at between 2000-01-01T00:00Z and 2100-01-01T00:00Z
freshness of training by updated_at <= 400d as of 2026-01-31T00:00Z
training rows where updated_at >= 2020-01-01T00:00Z >= 100
training rows >= monitoring.rows * 0.9
feature age mean <= monitoring.features.age.mean * 1.2
feature plan in ("basic", "pro", "plus") >= monitoring.plan_known_rate - 1%
feature plan shares {"basic": 0.34, "pro": 0.33, "plus": 0.33} chi2_pvalue >= 0.001
feature plan shares {"basic": 34%, "pro": 33%, "plus": 33%} linf <= 0.1
warn feature country shares {"US": 0.5, "FR": 0.5} psi < 0.1
feature age null_rate <= 5%
feature country null_count <= 200
feature age where batch == 3 mean <= 200
feature age where batch == 3 p50 <= 200
feature comment where plan == "pro" length max <= 500
feature income where income / 2 > age * 10 std <= 1e9
feature age where signup_date < 2025-06-01 min >= 0
feature plan where active == false matches "^[a-z]+$"
training duplicate_count (plan) where churned == 0 <= 400
feature age of production where plan == "pro" mean <= 120
production rows where age < 30 <= 1000
feature income psi < 10 vs production
feature income where plan == "pro" psi < 10 vs production
feature income where plan == "pro" ks < 1 vs production
"""


def churn_frame(seed: int, rows: int = 400) -> pl.DataFrame:
    rng = random.Random(seed)
    return pl.DataFrame({
        "plan": [rng.choice(["basic", "pro", "plus"]) for _ in range(rows)],
        "country": [rng.choice(["US", "FR", None, "?", ""]) for _ in range(rows)],
        "churned": [rng.choice([0, 1]) for _ in range(rows)],
        "age": [rng.choice([rng.uniform(18, 90), rng.uniform(18, 90), -1.0, math.nan, None]) for _ in range(rows)],
        "income": [rng.lognormvariate(8, 1) if rng.random() > 0.1 else None for _ in range(rows)],
        "customer_id": list(range(rows)),
        "batch": [i % 7 for i in range(rows)],
        "active": [i % 4 != 0 for i in range(rows)],
        "email": [f"user{i}@example.com" for i in range(rows)],
        "customer_key": [f"123e4567-e89b-12d3-a456-{i:012d}" for i in range(rows)],
        "signup_text": [f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(rows)],
        "signup_date": [_dt.date(2025, 1 + i % 12, 1 + i % 28) for i in range(rows)],
        "payload": [json.dumps({"n": i}) for i in range(rows)],
        "comment": ["é" * (i % 100) if i % 9 else None for i in range(rows)],
        "updated_at": pl.Series([AS_OF - _dt.timedelta(hours=i) for i in range(rows)], dtype=pl.Datetime("us", "UTC")),
    })


@pytest.fixture
def families(tmp_path):
    """The families contract over parquet files of several row groups (several chunks read)."""
    churn_frame(0).write_parquet(tmp_path / "training.parquet", row_group_size=64)
    churn_frame(1).write_parquet(tmp_path / "production.parquet", row_group_size=64)
    (tmp_path / "monitoring").mkdir()
    (tmp_path / "monitoring" / "prod.json").write_text(
        json.dumps({"rows": 400, "features": {"age": {"mean": 54.0}}, "plan_known_rate": 0.5}))
    (tmp_path / "families.mlc").write_text(FAMILIES)
    return tmp_path / "families.mlc"


def separately(monkeypatch) -> None:
    """Plan every view as a dataset of its own, read on its own (how views ran before)."""
    monkeypatch.setattr(planner, "root_dataset", lambda datasets, name: name)


def same(a, b) -> bool:
    """Equal, except that floats may differ in their last bits: a mean or a standard deviation
    is merged over the Arrow chunks Polars hands over, and how Polars splits a read into chunks
    varies (a view read on its own gives one of two values from run to run here, 1 ulp apart)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def assert_same_results(shared, alone) -> None:
    assert [c.source for c in shared] == [c.source for c in alone]
    for a, b in zip(shared, alone):
        assert (a.status, a.message) == (b.status, b.message), a.source
        assert same(a.value, b.value) and same(a.threshold, b.threshold), (a.source, a.value, b.value)
        assert same(a.details, b.details), a.source


def run(path, **settings):
    return mlcontract.compile(path).run(engine=LocalBackend(Settings(**settings))).checks


# ---- the plan -------------------------------------------------------------------------------------
def test_every_family_plans_one_scan_per_dataset_and_its_views_in_it(families):
    plan = mlcontract.compile(families).plan
    datasets = plan.contract.datasets
    # training's checks bin on production's edges: production first, then all of training
    assert [(s.stage, s.dataset) for s in plan.scans] == [(0, "production"), (1, "training")]
    scanned = {r.dataset for s in plan.scans for r in s.requests}
    roots = {planner.root_dataset(datasets, d) for d in scanned}
    stages = {s.stage for s in plan.scans}
    assert len(plan.scans) <= len(roots) * len(stages)
    assert len({(s.stage, s.dataset) for s in plan.scans}) == len(plan.scans)  # one scan per root and stage
    views_planned = [v for s in plan.scans for v in s.views]
    assert len(views_planned) == len(set(views_planned)) == len(scanned - roots) >= 15
    for scan in plan.scans:
        assert datasets[scan.dataset].inner is None  # a declared dataset, never a view
        for request in scan.requests:
            assert request.dataset == scan.dataset or request.dataset in scan.views
        for view in scan.views:
            assert planner.root_dataset(datasets, view) == scan.dataset
    (first,) = (s for s in plan.scans if s.dataset == "training")
    # what a view's condition reads is read: `batch`, `signup_date` are read for conditions only
    assert {"batch", "signup_date"} <= set(first.columns)
    lengths = first.views.index('training where plan == "pro" (string lengths)')
    assert first.views.index('training where plan == "pro"') < lengths  # in derivation order


def test_before_views_shared_scans_the_families_contract_took_one_scan_per_view(families, monkeypatch):
    shared = len(mlcontract.compile(families).plan.scans)
    separately(monkeypatch)
    assert len(mlcontract.compile(families).plan.scans) > 5 * shared


def test_mlc_plan_shows_the_shared_scan_and_the_views_computed_from_it(families):
    contract = mlcontract.compile(families)
    text = contract.explain()
    assert [line.split("  ")[1] for line in text.splitlines() if line.startswith("scan ")] == \
        ["production", "training"]
    assert '  view training where plan == "pro"  (from the rows read)\n    summary(age)' in text
    assert "  view training (string lengths)  (from the rows read)" in text
    views_shown = sum(line.startswith("  view ") for line in text.splitlines())
    assert f"in 2 scans ({views_shown} views derived from their rows)" in text.splitlines()[0]
    document = json.loads(contract.explain(as_json=True))
    for scan, shown in zip(contract.plan.scans, document["scans"]):
        assert [v["dataset"] for v in shown["views"]] == scan.views
        assert [s["dataset"] for s in shown["statistics"]] == [r.dataset for r in scan.requests]


def test_a_view_needing_another_datasets_result_is_read_with_its_dataset_later(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    plan = mlcontract.compile("plan/views.mlc").plan
    # production's view bins on the edges of training's same rows: production waits for them,
    # and its own `rows` is read in that same later scan rather than in a scan of its own
    assert [(s.stage, s.dataset, len(s.views)) for s in plan.scans] == [(0, "training", 5), (1, "production", 1)]


# ---- the engine: one read ---------------------------------------------------------------------------
def _count_reads(monkeypatch) -> dict:
    counts = {"scan_parquet": 0, "reads": 0}
    scan_parquet, read_frame = pl.scan_parquet, local._read_frame
    collect_batches = pl.LazyFrame.collect_batches

    def counted_scan(*args, **kwargs):
        counts["scan_parquet"] += 1
        return scan_parquet(*args, **kwargs)

    def counted_read(*args, **kwargs):
        counts["reads"] += 1
        return read_frame(*args, **kwargs)

    def counted_batches(self, *args, **kwargs):
        counts["reads"] += 1
        return collect_batches(self, *args, **kwargs)

    monkeypatch.setattr(pl, "scan_parquet", counted_scan)
    monkeypatch.setattr(local, "_read_frame", counted_read)
    monkeypatch.setattr(pl.LazyFrame, "collect_batches", counted_batches)
    return counts


def test_the_local_engine_reads_each_scan_once_whatever_its_views(families, monkeypatch):
    without_views = families.with_name("plain.mlc")
    lines = FAMILIES.splitlines()
    without_views.write_text("\n".join(line for line in lines if " where " not in line and " length " not in line) + "\n")
    counts = _count_reads(monkeypatch)
    contract = mlcontract.compile(families)
    opened_to_compile = counts["scan_parquet"]
    contract.run()
    with_views = dict(counts, scan_parquet=counts["scan_parquet"] - opened_to_compile)
    counts.update(scan_parquet=0, reads=0)
    plain = mlcontract.compile(without_views)
    opened_to_compile = counts["scan_parquet"]
    plain.run()
    assert with_views["reads"] == len(contract.plan.scans) == 2  # production's edges, then training
    assert with_views["scan_parquet"] == counts["scan_parquet"] - opened_to_compile  # each file opened once


# ---- the results: those of separate scans ---------------------------------------------------------------
def test_view_results_are_those_of_separate_scans(families, monkeypatch):
    shared = run(families)
    assert all(c.status in ("pass", "fail", "warn") for c in shared), [c.message for c in shared if c.status == "error"]
    assert [c.status for c in shared].count("pass") >= 50
    separately(monkeypatch)
    assert_same_results(shared, run(families))


STREAMED = """\
dataset d = parquet("d.parquet")
missing country = ("?")
d rows >= 0
feature income mean <= 1e9
feature age of d where plan == "pro" mean <= 1e9
feature income where plan == "pro" sum <= 1e12
feature income where plan == "pro" std <= 1e9
d rows where country is null or churned == 1 >= 0
d rows where batch == 99 == 0
d rows where 1 < 2 >= 0
feature plan where churned == 1 in ("basic", "pro") >= 0%
feature country where churned == 1 null_count >= 0
feature comment length max <= 500
feature comment where batch == 2 length mean <= 500
feature email where batch > 3 matches "^user[0-9]+@" >= 0%
feature updated_at where batch < 2 max >= 2020-01-01T00:00Z
"""


def test_a_streamed_scan_derives_its_views_batch_by_batch(tmp_path, monkeypatch):
    """Counts are exact whatever the batches; a mean over several batches merges partial
    results, so it agrees to rounding with the view read on its own (whose batches are the
    filtered rows re-cut, handed over in no fixed order)."""
    frame = churn_frame(2, rows=1000)
    frame.write_parquet(tmp_path / "d.parquet", row_group_size=100)
    (tmp_path / "c.mlc").write_text(STREAMED)
    contract = mlcontract.compile(tmp_path / "c.mlc")
    (scan,) = contract.plan.scans
    assert scan.mode == "stream" and len(scan.views) == 9
    shared = run(tmp_path / "c.mlc", chunk_rows=64)
    assert all(c.status == "pass" for c in shared), [(c.source, c.message) for c in shared if c.status != "pass"]
    separately(monkeypatch)
    assert_same_results(shared, run(tmp_path / "c.mlc", chunk_rows=64))
    # and against values counted in Python
    records = frame.to_dicts()
    pro = [r["income"] for r in records if r["plan"] == "pro" and r["income"] is not None]
    value = {c.source: c.value for c in shared}
    assert value['feature income where plan == "pro" sum <= 1e12'] == pytest.approx(math.fsum(pro), rel=1e-12)
    kept = [r for r in records if r["country"] in (None, "?") or r["churned"] == 1]
    assert value["d rows where country is null or churned == 1 >= 0"] == len(kept)
    assert value["d rows where 1 < 2 >= 0"] == 1000 and value["d rows where batch == 99 == 0"] == 0
    churned = [r for r in records if r["churned"] == 1]
    assert value["feature country where churned == 1 null_count >= 0"] == sum(r["country"] in (None, "?") for r in churned)
    lengths = [len(r["comment"]) for r in records if r["batch"] == 2 and r["comment"] is not None]
    assert value["feature comment where batch == 2 length mean <= 500"] == pytest.approx(sum(lengths) / len(lengths))


def test_views_of_a_scan_read_column_by_column_and_its_keys(tmp_path, monkeypatch):
    """A scan that sorts a parquet file's columns reads them one at a time; its keys and its views
    need their columns together: one more read of just those. A key was an error there before."""
    frame = churn_frame(3, rows=600)
    frame.write_parquet(tmp_path / "d.parquet", row_group_size=128)
    (tmp_path / "c.mlc").write_text('dataset d = parquet("d.parquet")\nfeature income p50 <= 1e9\n'
                                    "feature age p90 <= 1e9\nd unique (plan, batch)\n"
                                    'feature income where plan == "pro" p50 <= 1e9\nd rows where age > 50 >= 0\n')
    counts = _count_reads(monkeypatch)
    shared = run(tmp_path / "c.mlc")
    assert counts["reads"] == 3  # income, age, then (plan, batch, age) for the key and the views
    records = frame.to_dicts()
    key = [(r["plan"], r["batch"]) for r in records]
    unique = shared[2]
    assert unique.status == "fail" and unique.value == len(key) - len(set(key))
    separately(monkeypatch)
    assert_same_results(shared, run(tmp_path / "c.mlc"))


def test_views_both_ways_between_datasets_fall_back_to_stages_per_request(tmp_path, monkeypatch):
    churn_frame(4).write_parquet(tmp_path / "t.parquet")
    churn_frame(5).write_parquet(tmp_path / "p.parquet")
    (tmp_path / "c.mlc").write_text('dataset training = parquet("t.parquet")\ndataset production = parquet("p.parquet")\n'
                                    'feature income where plan == "pro" psi < 10 vs production\n'
                                    'feature income of production where plan == "pro" psi < 10 vs training\n'
                                    "feature age null_rate <= 100%\n")
    plan = mlcontract.compile(tmp_path / "c.mlc").plan
    assert len({(s.stage, s.dataset) for s in plan.scans}) == len(plan.scans) == 4
    position = {r: i for i, s in enumerate(plan.scans) for r in s.requests}
    for request in position:
        for needed in request.depends_on():  # on another dataset (a view is one): an earlier scan
            assert position[needed] < position[request] or needed.dataset == request.dataset
    shared = run(tmp_path / "c.mlc")
    assert all(c.status == "pass" for c in shared)
    separately(monkeypatch)
    assert_same_results(shared, run(tmp_path / "c.mlc"))


# ---- memory, errors, profiles -------------------------------------------------------------------------
def test_a_views_rows_are_dropped_before_the_next_views_are_derived(families, monkeypatch):
    derived = []
    rows_of = views.rows_of

    def tracked(frame, view):
        assert all(ref() is None for ref in derived), "the rows of an earlier view are still alive"
        rows = rows_of(frame, view)
        derived.append(weakref.ref(rows))
        return rows

    monkeypatch.setattr(views, "rows_of", tracked)
    run(families)
    assert len(derived) >= 15


def test_a_condition_column_the_data_lost_fails_only_the_views_checks(tmp_path):
    churn_frame(6).write_parquet(tmp_path / "d.parquet")
    (tmp_path / "c.mlc").write_text('dataset d = parquet("d.parquet")\nd rows >= 1\nd rows where batch == 1 >= 1\n'
                                    'feature age where batch == 1 mean <= 1e9\n')
    contract = mlcontract.compile(tmp_path / "c.mlc")
    churn_frame(6).drop("batch").write_parquet(tmp_path / "d.parquet")
    rows, view_rows, view_mean = contract.run().checks
    assert rows.status == "pass"
    for check in (view_rows, view_mean):
        assert check.status == "error" and "`batch`" in check.message, check.message


def test_a_profile_scan_never_serves_a_views_request(tmp_path):
    from mlcontract.engines.profile import serve_scan
    from mlcontract.errors import CheckError
    from mlcontract.plan import Scan

    pl.DataFrame({"x": [1.0, 2.0]}).write_parquet(tmp_path / "d.parquet")
    mlcontract.profile(tmp_path / "d.parquet", tmp_path / "d.profile.json")
    contract = mlcontract.compile('dataset p = profile("d.profile.json")\np rows >= 1\n', base_dir=tmp_path)
    source = contract.plan.contract.datasets["p"]
    own, of_view = rq.RowCount("p"), rq.RowCount("p where x > 1")
    got: dict = {}
    serve_scan(source, Scan(0, "p", [], [own, of_view], "profile", ["p where x > 1"]), got)
    assert got[own] == 2
    assert isinstance(got[of_view], CheckError) and "has no rows for `p where x > 1`" in str(got[of_view])
