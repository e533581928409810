"""Stage execute: engines compute the plan's requests.

`ENGINES` names every engine by the import path of its class (`module:Class`), loaded only when
chosen: a new engine is one module whose class follows `engines.base.Backend`, plus one line
here. `backend(name, settings, progress)` builds the one a run asks for (`Contract.run(engine=)`,
`mlc check --engine`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Backend, Progress, Settings

ENGINES: dict[str, str] = {
    "local": "mlcontract.engines.local:LocalBackend",  # Polars + the Cython kernels, in this process
    "spark": "mlcontract.engines.spark:SparkBackend",  # Spark SQL on a Spark session or Spark Connect (docs/spark.md)
}
DEFAULT_ENGINE = "local"


def backend(name: str, settings: Settings, progress: Progress | None = None) -> Backend:
    """The engine `name`, constructed with the settings and the progress it reports to. An
    unknown name is a UsageError that lists the engines. (engines.base is not imported here:
    modules below the engines, profiles among them, import engines.columns.)"""
    import importlib

    from ..errors import UsageError

    if name not in ENGINES:
        from ..escape import printable
        from ..language.diagnostics import did_you_mean

        hint = did_you_mean(name, ENGINES) if isinstance(name, str) else None
        raise UsageError(f"unknown engine `{printable(name, 40)}`{f'; {hint}' if hint else ''} "
                         f"(the engines: {', '.join(ENGINES)})")
    module, _, attribute = ENGINES[name].partition(":")
    engine = getattr(importlib.import_module(module), attribute)
    return engine(settings, progress)
