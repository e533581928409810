"""`mlflow("models:/churn@challenger")`: a model from an MLflow registry or run, or a local
MLflow model folder, loaded in this process.

Where the model comes from:
- `models:/NAME/VERSION`, `models:/NAME@ALIAS`, `models:/NAME/STAGE|latest`, `runs:/RUN_ID/PATH`:
  fetched from the tracking/registry server the INVOCATION names (`--mlflow-uri URI`, API
  `compile(..., mlflow_uri=URI)`, else the environment's MLFLOW_TRACKING_URI and
  MLFLOW_REGISTRY_URI), never the contract. A server on a non-loopback host needs
  `--allow-host HOST[:PORT]`, like http() models. These URIs are not paths: no confinement.
- a folder holding an `MLmodel` file (or that file): a path like any other, confined to the
  repository and the working directory (resolve/declarations.py).

How it is loaded — the first flavor of this list the model has:
1. `xgboost`, `lightgbm` (a Booster), `catboost`, `onnx`: the native file, through the safe
   loaders of this package (xgboost.py, lightgbm.py, catboost.py, onnx.py): probabilities
   and all, no code runs, no grant needed.
2. `sklearn` and `lightgbm` (a scikit-learn wrapper such as LGBMClassifier): saved with skops
   (MLflow 3's default), loaded with skops' safe loading under the rules of skops(...): a type
   skops does not trust by default must be listed, in `trusted=` or in the `skops_trusted_types`
   MLflow wrote into the MLmodel file; a listed type outside the safe modules (sklearn, numpy,
   scipy) needs `--allow-pickle` wherever it is listed (the MLmodel file is no more trusted
   than the contract), except LightGBM's own wrapper types (`LIGHTGBM_SKOPS_TYPES`). Saved with
   (cloud)pickle: needs `--allow-pickle` (unpickling runs code), then MLflow's loader.
   Either way the model is a scikit-learn estimator: probabilities, and `cv` can refit it.
3. `python_function` only: loading it imports the code it names and unpickles, so it needs
   `--allow-pickle`; its predict gives LABELS ONLY: label metrics work, and auc, pr_auc, logloss
   and brier are `error` results that say so.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .base import TYPE_NAMES, SourceKind
from .boosters import CLASSES_OPTION

NAME = "mlflow"
EXTRA = "mlflow"  # pip install 'mlcontract[mlflow]'

URI_PREFIXES = ("models:/", "runs:/")
_MODELS_URI = re.compile(r"models:/[^/@\s]+(/[^/\s]+|@[^/@\s]+)?")
_RUNS_URI = re.compile(r"runs:/[^/\s]+/\S+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")  # two letters at least: `C:` is a drive

# Types of LightGBM's scikit-learn wrappers as MLflow saves them with skops: constructing them
# parses the booster's text (Booster.__setstate__), the same as lightgbm("model.txt").
LIGHTGBM_SKOPS_TYPES = frozenset({
    "lightgbm.basic.Booster", "lightgbm.sklearn.LGBMClassifier", "lightgbm.sklearn.LGBMRegressor",
    "lightgbm.sklearn.LGBMRanker", "lightgbm.sklearn.LGBMModel", "collections.OrderedDict",
})
# Flavors loaded from their native file, safely, in this order of preference.
NATIVE_FLAVORS = ("xgboost", "lightgbm", "catboost", "onnx", "sklearn")


def is_uri(location: str) -> bool:
    return location.startswith(URI_PREFIXES)


def recognise(path: Path, head: bytes) -> str | None:
    """An MLflow model folder (or its MLmodel file), given to another kind."""
    if path.is_dir():
        return "an MLflow model folder" if (path / "MLmodel").is_file() else None
    if path.name == "MLmodel":
        return "the MLmodel file of an MLflow model folder (declare the folder)"
    return None


def location_problem(location: str) -> str | None:
    """What is wrong with the location a contract wrote in mlflow(...), or None (checked when
    compiling: no server is asked)."""
    if location.startswith("models:/"):
        return None if _MODELS_URI.fullmatch(location) else \
            "a models:/ URI is models:/NAME/VERSION, models:/NAME@ALIAS or models:/NAME/STAGE"
    if location.startswith("runs:/"):
        return None if _RUNS_URI.fullmatch(location) else "a runs:/ URI is runs:/RUN_ID/PATH (e.g. runs:/0a1b.../model)"
    if _SCHEME.match(location):
        return ("mlflow() takes a models:/ or runs:/ URI, or a local model folder; other URIs (s3://, dbfs:/, "
                "http://, file:) are not read: register the model, or download it into the repository")
    return None


def load(source, grants=None):
    """Load the model (see the module's docstring): from the registry for a URI, else from the
    folder `source.location` (already resolved and confined by the checker)."""
    from ..grants import Grants

    name, location, options = source.name, source.location, dict(source.options)
    grants = grants or Grants()
    if is_uri(location):
        download, folder = _download(name, location, grants)
        try:
            model = load_folder(name, folder, options, grants, location)
        except BaseException:
            _remove(download)
            raise
        _remove_with(model, download)
        return model
    path = Path(location)
    if path.name == "MLmodel" and path.is_file():
        path = path.parent
    return load_folder(name, path, options, grants, location)


# ---- the invocation's server -----------------------------------------------------------------------
def server_uris(grants) -> tuple[str | None, str | None]:
    """(tracking URI, registry URI) the invocation gives: `--mlflow-uri` for both, else the
    environment's MLFLOW_TRACKING_URI and MLFLOW_REGISTRY_URI (the registry defaulting to the
    tracking server, as in MLflow)."""
    given = getattr(grants, "mlflow_uri", None)
    if given:
        return given, given
    tracking = os.environ.get("MLFLOW_TRACKING_URI") or None
    return tracking, os.environ.get("MLFLOW_REGISTRY_URI") or tracking


def reach_problem(uri: str, grants) -> str | None:
    """Why the invocation's grants do not let mlcontract reach the server at `uri` (None: they
    do). Local stores (a folder, file:, sqlite:) and loopback hosts are always reachable."""
    from urllib.parse import urlsplit

    from ..grants import HOST_GRANT

    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme in ("", "file", "sqlite") or len(scheme) == 1:
        return None
    host: str | None
    port: int | None
    if scheme.startswith("databricks") or scheme == "uc":
        host, port = "databricks", None
    else:
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            host, port = None, None
        if port is None and scheme in ("http", "https"):
            port = 443 if scheme == "https" else 80
    if not host:
        return f"cannot tell which host the MLflow URI {uri} reaches"
    if grants.allows_host(host, port):
        return None
    return f"the MLflow server {uri} is not on a loopback host; to let the contract reach it: {HOST_GRANT}"


def _download(name: str, uri: str, grants) -> tuple[Path, Path]:
    """Fetch the model's folder from the invocation's server into a new temporary folder:
    (that folder, the model's folder in it)."""
    import tempfile

    from ..errors import ModelError
    from ..escape import printable

    tracking, registry = server_uris(grants)
    if not tracking:
        raise ModelError(f"model `{name}`: {printable(uri)} needs an MLflow tracking server, which the invocation "
                         "names: --mlflow-uri URI (API: compile(..., mlflow_uri=URI)) or MLFLOW_TRACKING_URI")
    for server in dict.fromkeys(uri for uri in (tracking, registry) if uri):
        problem = reach_problem(server, grants)
        if problem:
            raise ModelError(f"model `{name}`: {printable(problem)}")
    mlflow = _require_mlflow()
    target = tempfile.mkdtemp(prefix="mlc-mlflow-")
    try:
        with _no_progress_bars(), _global_tracking_uri(tracking):
            local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=target, tracking_uri=tracking,
                                                        registry_uri=registry)
    except Exception as error:
        _remove(target)
        message = getattr(error, "message", None) or str(error)
        raise ModelError(f"model `{name}`: cannot fetch {printable(uri)} from the MLflow server {printable(tracking)}: "
                         f"{type(error).__name__}: {printable(message)}") from error
    return Path(target), Path(local)


# ---- a model folder --------------------------------------------------------------------------------
def load_folder(name: str, folder: Path, options: dict, grants, origin: str):
    """Load an MLflow model folder by its first natively loadable flavor (the docstring's order)."""
    from ..errors import ModelError
    from ..escape import printable

    flavors = _flavors(name, folder)
    for flavor in NATIVE_FLAVORS:
        if flavor in flavors:
            model = _FLAVOR_LOADERS[flavor](name, folder, flavors[flavor], options, grants)
            return _labelled(model, origin, flavor, flavors)
    if "python_function" in flavors:
        return _labelled(_pyfunc(name, folder, flavors, grants), origin, "python_function", flavors)
    raise ModelError(f"model `{name}`: {printable(origin)} has no flavor mlcontract can load (it has "
                     f"{printable(', '.join(map(str, flavors)) or 'none')})")


def _flavors(name: str, folder: Path) -> dict:
    from ..errors import ModelError
    from ..escape import printable

    spec = folder / "MLmodel"
    if not folder.is_dir():
        raise ModelError(f"model `{name}`: MLflow model folder not found: {printable(folder)}")
    if not spec.is_file():
        raise ModelError(f"model `{name}`: {printable(folder)} is not an MLflow model folder (it has no MLmodel file)")
    try:
        import yaml
    except ImportError as error:
        raise ModelError(f"mlflow models need the mlflow package: pip install 'mlcontract[{EXTRA}]'") from error
    try:
        document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ModelError(f"model `{name}`: cannot read {printable(spec)}: {printable(error)}") from error
    flavors = document.get("flavors") if isinstance(document, dict) else None
    if not isinstance(flavors, dict) or not flavors:
        raise ModelError(f"model `{name}`: {printable(spec)} names no flavors")
    return {str(k): (v if isinstance(v, dict) else {}) for k, v in flavors.items()}


def _member(name: str, folder: Path, conf: dict, *keys: str) -> Path:
    """The flavor's data file, which must lie inside the model folder (the MLmodel file is the
    pull request's: `data: ../../secrets` is refused)."""
    from ..errors import ModelError
    from ..escape import printable

    written = next((conf[k] for k in keys if isinstance(conf.get(k), str) and conf[k]), None)
    if written is None:
        raise ModelError(f"model `{name}`: the MLmodel file names no model file ({' or '.join(keys)})")
    path = (folder / written)
    root = folder.resolve()
    real = path.resolve()
    if real != root and root not in real.parents:
        raise ModelError(f"model `{name}`: the MLmodel file points outside the model folder: {printable(written)}")
    if not (path.is_file() or path.is_dir()):  # a FIFO or a device would block the loader's read
        raise ModelError(f"model `{name}`: the model file {printable(written)} is missing from the MLflow model folder")
    return path


def _xgboost(name, folder, conf, options, grants):
    from . import xgboost

    return xgboost.load_file(name, str(_member(name, folder, conf, "data")), options)


def _lightgbm(name, folder, conf, options, grants):
    from . import lightgbm

    path = _member(name, folder, conf, "data")
    if conf.get("model_class", "lightgbm.basic.Booster") == "lightgbm.basic.Booster":
        return lightgbm.load_file(name, str(path), options)
    # A scikit-learn wrapper (LGBMClassifier, ...): its booster is fed as lightgbm(...) feeds one
    # (text columns as categoricals), with the labels the wrapper knew.
    wrapper = _estimator(name, folder, path, conf, options, grants, "lightgbm", LIGHTGBM_SKOPS_TYPES).estimator
    booster = getattr(wrapper, "booster_", None)
    if booster is None:
        from ..errors import ModelError

        raise ModelError(f"model `{name}`: the MLflow model's LightGBM estimator holds no fitted booster")
    return lightgbm.from_booster(name, booster, options, classes=getattr(wrapper, "classes_", None))


def _catboost(name, folder, conf, options, grants):
    from . import catboost

    return catboost.load_file(name, str(_member(name, folder, conf, "data")))


def _onnx(name, folder, conf, options, grants):
    from . import onnx

    return onnx.load_file(name, str(_member(name, folder, conf, "data")))


def _sklearn(name, folder, conf, options, grants):
    path = _member(name, folder, conf, "pickled_model", "data")
    return _estimator(name, folder, path, conf, options, grants, "sklearn", frozenset())


def _estimator(name, folder, path, conf, options, grants, flavor: str, vouched: frozenset):
    """A scikit-learn estimator (or LightGBM's wrapper) saved by MLflow: with skops, safely;
    pickled, only with the invocation's consent."""
    from ..errors import ModelError
    from ..escape import printable
    from ..grants import PICKLE_GRANT
    from ..models.loaded import wrap_object

    serialization = str(conf.get("serialization_format") or "cloudpickle")
    if serialization == "skops":
        written = conf.get("skops_trusted_types")
        listed = [str(t) for t in written] if isinstance(written, list) else []
        return wrap_object(name, _skops_object(name, path, options, grants, vouched, listed))
    if not grants.pickle:
        raise ModelError(f"model `{name}`: the MLflow model's {flavor} flavor is saved with {printable(serialization)}; "
                         "loading it unpickles the file, which runs any code it holds; only the invocation can consent "
                         f"to that: {PICKLE_GRANT}. Better, log the model with serialization_format=\"skops\" (MLflow's "
                         "default since 3.0): it loads without running code")
    mlflow = _require_mlflow()
    try:
        loader = mlflow.sklearn if flavor == "sklearn" else mlflow.lightgbm
        estimator = loader.load_model(str(folder))  # unpickles: the invocation consented (--allow-pickle)
    except Exception as error:
        raise ModelError(f"model `{name}`: cannot load the MLflow model: {type(error).__name__}: "
                         f"{printable(error)}") from error
    return wrap_object(name, estimator)


def _skops_object(name: str, path: Path, options: dict, grants, vouched: frozenset, saved: list[str]):
    """skops' safe loading with the types the contract (`trusted=`) and the MLmodel file
    (`saved`) list, under the rules of skops(...) (skops.py): a listed type outside the safe
    modules needs --allow-pickle; `vouched` types are trusted without it (LightGBM's wrappers)."""
    from ..errors import ModelError
    from ..escape import printable
    from ..grants import PICKLE_GRANT
    from .skops import SAFE_SKOPS_MODULES, unsafe_skops_types

    try:
        import skops.io as sio
    except ImportError as error:
        raise ModelError("MLflow models saved with skops need the skops package: pip install 'mlcontract[skops]'") \
            from error
    listed = [t.strip() for t in str(options.get("trusted", "")).split(",") if t.strip()]
    unsafe = unsafe_skops_types(listed)
    if unsafe and not grants.pickle:
        raise ModelError(f"model `{name}`: trusted= names types outside the safe modules ({', '.join(SAFE_SKOPS_MODULES)}): "
                         f"{printable(', '.join(unsafe))}; loading them can run any code, so only the invocation can "
                         f"consent: {PICKLE_GRANT}")
    try:
        found = [str(t) for t in sio.get_untrusted_types(file=path)]
    except Exception as error:
        raise ModelError(f"model `{name}`: cannot read {printable(path.name)}: {printable(error)}") from error
    unsafe_saved = [t for t in unsafe_skops_types(saved) if t in found and t not in vouched]
    if unsafe_saved and not grants.pickle:
        raise ModelError(f"model `{name}`: its MLmodel file trusts types outside the safe modules "
                         f"({', '.join(SAFE_SKOPS_MODULES)}): {printable(', '.join(unsafe_saved))}; loading them can run "
                         f"any code, so only the invocation can consent: {PICKLE_GRANT}")
    listed = listed + [t for t in saved if t not in listed]
    untrusted = [t for t in found if t not in listed and t not in vouched]
    if untrusted:
        consent = "" if grants.pickle or not unsafe_skops_types(untrusted) else \
            f" (types outside the safe modules also need {PICKLE_GRANT})"
        raise ModelError(f"model `{name}`: the MLflow model holds types that are not trusted: "
                         f"{printable(', '.join(untrusted))}; if you trust them, list them: "
                         f"mlflow(\"...\", trusted=\"{printable(','.join(untrusted))}\"){consent}")
    try:
        return sio.load(path, trusted=[t for t in found if t in listed or t in vouched] or None)
    except Exception as error:
        raise ModelError(f"model `{name}`: cannot load {printable(path.name)}: {type(error).__name__}: "
                         f"{printable(error)}") from error


def _pyfunc(name: str, folder: Path, flavors: dict, grants):
    """A model MLflow can only serve through python_function: labels only."""
    import numpy as np

    from ..errors import ModelError
    from ..escape import printable
    from ..grants import PICKLE_GRANT
    from ..models.loaded import LoadedModel

    listed = ", ".join(map(str, flavors))
    if not grants.pickle:
        raise ModelError(f"model `{name}`: this MLflow model has no flavor mlcontract loads natively ({printable(listed)}); "
                         "loading its python_function flavor imports the code it names and unpickles its files, which "
                         f"only the invocation can consent to: {PICKLE_GRANT}")
    mlflow = _require_mlflow()
    try:
        model = mlflow.pyfunc.load_model(str(folder))  # runs the model's code: the invocation consented
    except Exception as error:
        raise ModelError(f"model `{name}`: cannot load the MLflow pyfunc model: {type(error).__name__}: "
                         f"{printable(error)}") from error

    def predict(frame):
        output = model.predict(frame)
        if hasattr(output, "to_numpy"):  # a pandas Series, or a DataFrame of one column
            output = output.to_numpy()
        output = np.asarray(output)
        return output.ravel() if output.ndim == 2 and output.shape[1] == 1 else output

    reason = (f"model `{name}` is an MLflow pyfunc model (flavors: {printable(listed)}): pyfunc's predict gives labels "
              "only, so auc, pr_auc, logloss and brier cannot be computed; log the model with its native flavor "
              "(mlflow.sklearn, mlflow.xgboost, mlflow.lightgbm, mlflow.catboost, mlflow.onnx) to score them")
    return LoadedModel(name, NAME, predict, extra={"no_probabilities": reason})


_FLAVOR_LOADERS = {"xgboost": _xgboost, "lightgbm": _lightgbm, "catboost": _catboost, "onnx": _onnx,
                   "sklearn": _sklearn}


# ---- helpers -----------------------------------------------------------------------------------------
def _labelled(model, origin: str, flavor: str, flavors: dict):
    model.format = NAME
    model.extra["mlflow"] = {"uri": origin, "flavor": flavor, "flavors": sorted(map(str, flavors))}
    return model


def without_telemetry() -> None:
    """MLflow sends usage telemetry to its authors' servers unless told not to; a CI gate
    reaches no host the invocation did not name (an explicit MLFLOW_DISABLE_TELEMETRY wins)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def _require_mlflow():
    from ..errors import ModelError

    without_telemetry()
    try:
        import mlflow
        import mlflow.artifacts
    except ImportError as error:
        raise ModelError(f"mlflow models need the mlflow package: pip install 'mlcontract[{EXTRA}]'") from error
    return mlflow


class _no_progress_bars:
    """MLflow draws a progress bar for each download unless told not to; a CI log is no place
    for it (the invocation's own setting wins)."""

    KEY = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"

    def __enter__(self):
        self.before = os.environ.get(self.KEY)
        if self.before is None:
            os.environ[self.KEY] = "false"

    def __exit__(self, *exc):
        if self.before is None:
            os.environ.pop(self.KEY, None)


def _global_tracking_uri(uri: str):
    """MLflow 3 resolves the model a `runs:/` URI names (a LoggedModel) with a client of the
    process's global tracking URI, not the one download_artifacts is given: it is set to `uri`
    for the download and put back after (MLflow's own context manager for that)."""
    import contextlib

    try:
        from mlflow.tracking._tracking_service.utils import _use_tracking_uri
    except ImportError:
        return contextlib.nullcontext()
    return _use_tracking_uri(uri)


def _remove(folder) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _remove_with(model, download: Path) -> None:
    """Delete the downloaded folder once the model is gone (or at exit): a pyfunc model may read
    its files while it predicts."""
    import weakref

    weakref.finalize(model, _remove, str(download))


KINDS = (
    SourceKind(NAME, "model", summary="an MLflow model: models:/NAME/VERSION, models:/NAME@ALIAS, runs:/RUN_ID/PATH or "
               "a local model folder", example="models:/churn@challenger",
               options={"trusted": TYPE_NAMES, "classes": CLASSES_OPTION}, location="uri", schemes=URI_PREFIXES,
               uri_name="an MLflow model URI", check_location=location_problem, rank=80, load=load,
               recognise=recognise, file_type="an MLflow model folder"),
)
