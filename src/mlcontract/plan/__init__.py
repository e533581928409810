"""Stage 4 — plan: checked contract → execution plan.

The plan is the set of statistic requests the checks need, deduplicated (a PSI, a JS and a
Hellinger of the same feature pair share one pair of histograms), grouped into one scan per
dataset that reads only the needed columns, and ordered so that what a scan depends on (the
reference's bin edges, another dataset's range) is computed by an earlier scan.

A view (`training where age < 18`, `training (string lengths)`: resolve/conditions.py) is not
scanned on its own: its requests go to the scan of its root dataset, which reads its columns
once; the engine derives the view's rows from the rows read (`Scan.views`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import MlcError
from . import requests as rq

if TYPE_CHECKING:  # the checked contract is read, never built, here
    from ..resolve.contract import CheckedContract


@dataclass
class Scan:
    """One read of a declared dataset, and what is computed from the rows read.

    `dataset` is the root dataset: a declared one (never a view), whose source is read.
    `requests` are the requests of the root and of its views: `request.dataset` is the root's
    name or a view's. `views` names those views, in derivation order (a view after the views
    it is derived from); each is a key of `contract.datasets` whose `DatasetSource.inner`
    chain ends at the root. An engine reads `columns` once — what the requests of the root and
    of the views name, and what the views' conditions read — and derives each view's rows
    from them in memory (`sources.conditions.derived`, step by step along the chain; the
    root's `missing` values are already null in the rows read), then computes the view's
    requests on those rows. A streamed scan derives each view batch by batch: every
    derivation is row by row."""

    stage: int
    dataset: str
    columns: list[str]
    requests: list[rq.Request]
    mode: str = "memory"  # memory: read the columns at once · stream: in batches · profile: no data read
    views: list[str] = field(default_factory=list)

    @property
    def streamed(self) -> bool:
        return self.mode == "stream"


@dataclass
class Plan:
    contract: CheckedContract
    scans: list[Scan]
    other: list[rq.Request]  # requests that read no dataset in a scan (models, histories)
    consumers: dict[rq.Request, list[int]] = field(default_factory=dict)  # request → check indices

    @property
    def requests(self) -> list[rq.Request]:
        every = [r for s in self.scans for r in s.requests]
        return every + self.other


def plan(contract: CheckedContract, *, holds_summaries: Callable[[Any], bool]) -> Plan:
    """The contract's plan. `holds_summaries(source)` says whether a dataset's kind holds
    summaries, not rows (a profile: sources.holds_summaries; passed in because the sources
    package reads its data through modules that sit below this one): its scans are served
    from them."""
    consumers: dict[rq.Request, list[int]] = {}
    for check in contract.checks:
        if check.bind_error:
            continue
        for measure in check.measures():
            for request in _closure(measure.requests()):
                served = consumers.setdefault(request, [])
                # A check's own repeats come one after another: comparing with the last index
                # keeps this linear (`in` over the list was quadratic in the checks sharing a request).
                if not served or served[-1] != check.index:
                    served.append(check.index)
    requests = list(consumers)
    home = {r: _home_dataset(r) for r in requests}
    data_requests = [r for r in requests if home[r] is not None]
    other = _dependencies_first([r for r in requests if home[r] is None])
    root = {dataset: root_dataset(contract.datasets, dataset) for dataset in set(home.values()) if dataset is not None}
    stage_of = _dataset_stages(data_requests, home, root) or _request_stages(data_requests, home)
    position = {name: i for i, name in enumerate(contract.datasets)}  # declared datasets, then views as first used
    scans: dict[tuple[int, str], Scan] = {}
    for request in data_requests:
        dataset = home[request]
        assert dataset is not None  # data_requests: those with a home
        key = (stage_of(request), root[dataset])
        scan = scans.setdefault(key, Scan(key[0], key[1], [], []))
        scan.requests.append(request)
        columns = [request.column] if request.column else list(getattr(request, "key", ()))  # a key reads several
        if dataset != scan.dataset:
            if dataset not in scan.views:
                scan.views.append(dataset)
            columns += view_columns(contract.datasets[dataset])
        for column in columns:
            if column not in scan.columns:
                scan.columns.append(column)
    ordered = sorted(scans.values(), key=lambda s: (s.stage, position.get(s.dataset, 0)))
    for scan in ordered:
        scan.requests.sort(key=_request_order)
        scan.views.sort(key=lambda view: position.get(view, 0))  # a view is declared after its inner view
        source = contract.datasets.get(scan.dataset)
        if holds_summaries(source):
            scan.mode = "profile"
        elif all(r.mergeable for r in scan.requests):
            scan.mode = "stream"
    return Plan(contract, ordered, other, consumers)


def requests_of(measures) -> list[rq.Request]:
    """The requests the measures ask for themselves, in order (not what those depend on): what
    the checker asks of them at compile time (can a profile serve it, which sources does it use)."""
    return [request for measure in measures for request in measure.requests()]


def _dependencies_first(requests: list[rq.Request]) -> list[rq.Request]:
    """The requests in order, each one's dependencies moved before it (a robustness run after
    its baseline), so that an engine computes them in the order listed."""
    placed: dict[rq.Request, None] = {}
    wanted = set(requests)

    def place(request: rq.Request) -> None:
        if request in placed:
            return
        for dependency in request.depends_on():
            if dependency in wanted:
                place(dependency)
        placed[request] = None

    for request in requests:
        place(request)
    return list(placed)


def _closure(requests) -> list[rq.Request]:
    seen: dict[rq.Request, None] = {}
    stack = list(requests)
    while stack:
        request = stack.pop()
        if request in seen:
            continue
        seen[request] = None
        stack.extend(request.depends_on())
    return list(seen)


def _home_dataset(request: rq.Request) -> str | None:
    """The dataset whose rows the request is computed on (None: model and history work): a
    declared dataset or a view, computed in its root's scan."""
    return request.dataset


def root_dataset(datasets, name: str) -> str:
    """The declared dataset a view is derived from (the end of its `inner` chain); a declared
    dataset is its own root."""
    source = datasets.get(name)
    if source is None or source.inner is None:
        return name
    while source.inner is not None:
        source = source.inner
    return source.name


def view_columns(source) -> list[str]:
    """The columns of its root that deriving a view reads besides its requests' own: those its
    conditions name, along its `inner` chain."""
    columns: list[str] = []
    while source is not None and source.inner is not None:
        if source.where is not None:
            columns += [c for c in condition_columns(source.where) if c not in columns]
        source = source.inner
    return columns


def condition_columns(node: Any) -> list[str]:
    """The columns a condition reads, in the order it names them (what a scan must read to
    derive the view). Every part of the node is walked, whatever its kind: a condition form
    added to the language later cannot leave a column it reads unread."""
    import dataclasses

    from ..language import ast

    if isinstance(node, ast.ColumnRef):
        return [node.name.id]
    if isinstance(node, (tuple, list)):
        parts = list(node)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        parts = [getattr(node, f.name) for f in dataclasses.fields(node) if f.name != "span"]
    else:
        return []  # a literal's value, an operator
    names: list[str] = []
    for part in parts:
        names += [name for name in condition_columns(part) if name not in names]
    return names


def _dataset_stages(requests, home, root):
    """One scan per dataset and stage when the datasets' dependencies form no cycle. A view is a
    dataset here: a request on it that needs another dataset's result (its root's included)
    comes at a later stage than that dataset's requests. Then each dataset is moved to the
    latest stage where its root is read anyway, if nothing that needs it comes that early, so
    that a root is read once per stage it has (_fewer_reads)."""
    stage = {home[r]: 0 for r in requests}
    dependents: dict[str, set[str]] = {}
    for request in requests:
        for dependency in _closure(request.depends_on()):
            there = home.get(dependency) or _home_dataset(dependency)
            if there is not None and there != home[request]:
                dependents.setdefault(there, set()).add(home[request])
    for _ in range(len(stage) + 1):
        changed = False
        for there, needing in dependents.items():
            for dataset in needing:
                if there in stage and stage[dataset] <= stage[there]:
                    stage[dataset] = stage[there] + 1
                    changed = True
        if not changed:
            _fewer_reads(stage, dependents, root)
            return lambda request: stage[home[request]]
    return None  # a cycle: fall back to per-request stages


def _fewer_reads(stage: dict[str, int], dependents: dict[str, set[str]], root: dict[str, str]) -> None:
    """Move datasets to later stages where their root is read anyway: `training` (stage 0) and
    `training where x` (stage 1, it bins on another dataset's edges) are one read at stage 1
    when nothing needs `training`'s results before. A dataset moves only later (what it needs
    stays earlier) and only before every dataset that needs it."""
    if len(set(stage.values())) < 2:
        return  # one stage: every root is read once already
    changed = True
    while changed:
        changed = False
        stages_of: dict[str, set[int]] = {}
        for dataset, at in stage.items():
            stages_of.setdefault(root[dataset], set()).add(at)
        for dataset, at in stage.items():
            limit = min((stage[d] for d in dependents.get(dataset, ()) if d in stage), default=None)
            later = [s for s in stages_of[root[dataset]] if s > at and (limit is None or s < limit)]
            if later:
                stage[dataset] = max(later)
                changed = True
                break  # the stages of its root changed: recount


def _request_stages(requests, home):
    """Stages per request: a dataset is scanned again only for what needs another's result."""
    level: dict[rq.Request, int] = {}

    def of(request) -> int:
        if request not in level:
            level[request] = 0
            deps = request.depends_on()
            best = 0
            for dependency in deps:
                step = 0 if _home_dataset(dependency) == _home_dataset(request) else 1
                best = max(best, of(dependency) + step)
            if best > len(requests):
                raise MlcError("the statistic requests depend on each other in a cycle")
            level[request] = best
        return level[request]

    return of


def _request_order(request: rq.Request):
    return (request.column or "", request.order, request.describe())
