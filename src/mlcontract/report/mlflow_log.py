"""Recording a gate's verdict where the registry sees it:
`mlc check CONTRACT --mlflow-log runs:/RUN_ID | models:/NAME/VERSION | models:/NAME@ALIAS`.

- a run: the results JSON is logged as the artifact `mlcontract/results.json`, each check's
  observed value as a metric (`mlcontract.<index>.<subject>.<statistic>[.<feature>]`), and the
  run is tagged `mlcontract.gate = passed | failed`;
- a model version (an alias is resolved to its version once, before anything is written): the
  version is tagged `mlcontract.gate = passed | failed` (what a promotion step can require),
  `mlcontract.contract` and `mlcontract.results`; the artifact and the metrics go to the run
  that produced the version, when it has one.

The server is the invocation's (`--mlflow-uri`, else MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI):
the invocation names both it and the target, so no `--allow-host` is asked. A verdict that
cannot be recorded is an error (exit 1): a gate whose record is missing must not look passed.

Not a report format (report/formats/): it writes to a server, not to a file or a stream, needs
the invocation's server, and a failure to record fails the gate instead of the command line.
MLflow is imported only when the verdict is recorded.
"""
from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass

from ..errors import MlcError, UsageError
from ..escape import printable

GATE_TAG = "mlcontract.gate"
CONTRACT_TAG = "mlcontract.contract"
RESULTS_TAG = "mlcontract.results"
ARTIFACT_FOLDER = "mlcontract"
RESULTS_FILE = "results.json"
METRIC_PREFIX = "mlcontract"

_RUN = re.compile(r"runs:/([0-9A-Za-z_-]+)/?")
_VERSION = re.compile(r"models:/([^/@\s]+)/(\d+)")
_ALIAS = re.compile(r"models:/([^/@\s]+)@([^/@\s]+)")
_METRIC_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /:]")  # MLflow's metric names allow only these
_METRIC_NAME_LIMIT = 250
_BATCH = 1000  # metrics per log_batch call (MLflow's limit)


@dataclass(frozen=True)
class Recorder:
    """Where to record (parsed and checked before the run) and how."""

    target: str
    run_id: str | None
    model: str | None
    version: str | None
    alias: str | None
    tracking_uri: str
    registry_uri: str

    @classmethod
    def of(cls, target: str, mlflow_uri: str | None = None) -> Recorder:
        """Parse `--mlflow-log TARGET`; a UsageError (exit 2) when it is malformed or no server is named."""
        tracking = mlflow_uri or os.environ.get("MLFLOW_TRACKING_URI")
        registry = mlflow_uri or os.environ.get("MLFLOW_REGISTRY_URI") or tracking
        if not tracking:
            raise UsageError("--mlflow-log needs the MLflow tracking server: --mlflow-uri URI or MLFLOW_TRACKING_URI")
        for pattern, fields in ((_RUN, ("run_id",)), (_VERSION, ("model", "version")), (_ALIAS, ("model", "alias"))):
            found = pattern.fullmatch(target)
            if found:
                values = dict.fromkeys(("run_id", "model", "version", "alias"))
                values.update(zip(fields, found.groups()))
                return cls(target, tracking_uri=tracking, registry_uri=registry or tracking, **values)
        raise UsageError(f"--mlflow-log takes runs:/RUN_ID, models:/NAME/VERSION or models:/NAME@ALIAS, "
                         f"not {printable(target)!r}")

    def record(self, result) -> str:
        """Log the results and tag the verdict; returns what was done, in words. Raises MlcError
        when MLflow refuses or cannot be reached."""
        from ..sources.mlflow import without_telemetry

        without_telemetry()
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as error:
            raise MlcError("--mlflow-log needs the mlflow package: pip install 'mlcontract[mlflow]'") from error
        verdict = "passed" if result.passed else "failed"
        try:
            client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
            run_id, version = self.run_id, self.version
            if self.model is not None:
                found = client.get_model_version_by_alias(self.model, self.alias) if self.alias is not None \
                    else client.get_model_version(self.model, str(self.version))
                run_id, version = found.run_id or None, str(found.version)
            done = []
            if run_id:
                metrics = self._log_run(client, run_id, result, verdict, tag_run=self.model is None)
                done.append(f"run {run_id}: {ARTIFACT_FOLDER}/{RESULTS_FILE} and {metrics} metric"
                            f"{'s' if metrics != 1 else ''}" + (f", tag {GATE_TAG}={verdict}" if self.model is None else ""))
            if self.model is not None:
                tags = {GATE_TAG: verdict, CONTRACT_TAG: result.contract or result.path or ""}
                if run_id:
                    tags[RESULTS_TAG] = f"runs:/{run_id}/{ARTIFACT_FOLDER}/{RESULTS_FILE}"
                for key, value in tags.items():
                    client.set_model_version_tag(self.model, version, key, value)
                done.append(f"model version {self.model}/{version}: tag {GATE_TAG}={verdict}")
        except MlcError:
            raise
        except Exception as error:
            message = getattr(error, "message", None) or str(error)
            raise MlcError(f"could not record the verdict in MLflow ({printable(self.target)} on "
                           f"{printable(self.tracking_uri)}): {type(error).__name__}: {printable(message)}") from error
        return f"mlc: recorded the verdict ({verdict}) in MLflow: " + "; ".join(done)

    def _log_run(self, client, run_id: str, result, verdict: str, tag_run: bool) -> int:
        import tempfile
        from pathlib import Path

        from mlflow.entities import Metric, RunTag

        with tempfile.TemporaryDirectory(prefix="mlc-results-") as folder:
            path = Path(folder) / RESULTS_FILE
            path.write_text(result.to_json(), encoding="utf-8")
            client.log_artifact(run_id, str(path), ARTIFACT_FOLDER)
        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, 0) for key, value in metric_values(result).items()]
        tags = [RunTag(GATE_TAG, verdict)] if tag_run else []
        for start in range(0, max(len(metrics), 1), _BATCH):
            client.log_batch(run_id, metrics=metrics[start:start + _BATCH], tags=tags if start == 0 else [])
        return len(metrics)


def metric_values(result) -> dict[str, float]:
    """One metric per check with a finite observed value, named after the check."""
    values = {}
    for check in result.checks:
        if check.value is None or isinstance(check.value, bool):
            continue
        try:
            value = float(check.value)
        except OverflowError:  # an integer beyond float64: not a metric MLflow can store
            continue
        if not math.isfinite(value):
            continue
        values[metric_name(check)] = value
    return values


def metric_name(check) -> str:
    parts = [METRIC_PREFIX, str(check.index), check.subject, check.statistic] + ([check.feature] if check.feature else [])
    return _METRIC_UNSAFE.sub("_", ".".join(parts))[:_METRIC_NAME_LIMIT]
