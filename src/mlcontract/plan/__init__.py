"""Stage 4 — plan: checked contract → execution plan.

The plan is the set of statistic requests the checks need, deduplicated (a PSI, a JS and a
Hellinger of the same feature pair share one pair of histograms), grouped into one scan per
dataset that reads only the needed columns, and ordered so that what a scan depends on (the
reference's bin edges, another dataset's range) is computed by an earlier scan.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import MlcError
from . import requests as rq

if TYPE_CHECKING:  # the checked contract is read, never built, here
    from ..resolve.contract import CheckedContract


@dataclass
class Scan:
    stage: int
    dataset: str
    columns: list[str]
    requests: list[rq.Request]
    mode: str = "memory"  # memory: read the columns at once · stream: in batches · profile: no data read

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


def plan(contract: CheckedContract) -> Plan:
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
    stage_of = _dataset_stages(data_requests, home) or _request_stages(data_requests, home)
    order = list(contract.datasets)
    scans: dict[tuple[int, str], Scan] = {}
    for request in data_requests:
        dataset = home[request]
        assert dataset is not None  # data_requests: those with a home
        key = (stage_of(request), dataset)
        scan = scans.setdefault(key, Scan(key[0], key[1], [], []))
        scan.requests.append(request)
        for column in [request.column] if request.column else getattr(request, "key", ()):
            if column not in scan.columns:  # a key (KeyDuplicates) reads several columns
                scan.columns.append(column)
    ordered = sorted(scans.values(), key=lambda s: (s.stage, order.index(s.dataset) if s.dataset in order else 0))
    for scan in ordered:
        scan.requests.sort(key=_request_order)
        source = contract.datasets.get(scan.dataset)
        if source is not None and source.format == "profile":
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
    """The dataset whose scan computes the request (None: model and history work)."""
    return request.dataset


def _dataset_stages(requests, home):
    """One scan per dataset when the datasets' dependencies form no cycle."""
    stage = {home[r]: 0 for r in requests}
    for _ in range(len(stage) + 1):
        changed = False
        for request in requests:
            for dependency in _closure(request.depends_on()):
                there = home.get(dependency) or _home_dataset(dependency)
                if there != home[request] and stage[home[request]] <= stage[there]:
                    stage[home[request]] = stage[there] + 1
                    changed = True
        if not changed:
            return lambda request: stage[home[request]]
    return None  # a cycle: fall back to per-request stages


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
