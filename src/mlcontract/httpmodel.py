"""Models served over HTTP: `model prod = http("http://127.0.0.1:8000/predict")`.

The protocol (docs/serving.md has curl examples):

- `format="records"` (the default): POST `{"records": [{"age": 42, "plan": "basic"}, ...]}`,
  the answer is `{"predictions": [...]}` with one prediction per record, each of them
    * a label or a value: `1`, `"churn"`, `0.37`;
    * a list of class probabilities: `[0.8, 0.2]`;
    * an object `{"label": 1, "probabilities": [0.2, 0.8]}` (either key may be left out);
  and optionally `"classes": [0, 1]`, the labels the probability columns stand for.
- `format="mlflow"`: MLflow's scoring protocol, POST `{"dataframe_records": [...]}`; the answer
  is `{"predictions": [...]}` (or, from MLflow 1.x, a bare list) with the same kinds of elements.

NaN, None, NA and NaT are sent as JSON `null`; numpy scalars as plain numbers; dates as ISO
text; ±inf cannot be sent (JSON has no infinity) and is an error. Labels of a probability-only
answer are the `classes` at the highest probability, or the column index when no `classes` are
given.

`timeout=SECONDS` (default 10) bounds the connection and every read. Connections are kept
alive per thread (http.client, standard library only). Every failure is a ModelError naming
the URL: `HttpTransportError` when no answer came (refused, reset, timed out),
`HttpAnswerError` when the server answered wrongly (non-200, invalid JSON, wrong count).
"""
from __future__ import annotations

import http.client
import json
import math
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from .contract import ModelSource
from .errors import ModelError

FORMATS = ("records", "mlflow")
DEFAULT_TIMEOUT = 10.0
_BODY_PREVIEW = 200


class HttpError(ModelError):
    """A call to an HTTP model failed."""


class HttpTransportError(HttpError):
    """No answer: the connection was refused or reset, or the server did not answer in time."""


class HttpAnswerError(HttpError):
    """The server answered, but not with one valid prediction per row."""


@dataclass
class Scored:
    """One answer, decoded: labels (or values) and, when the server sent them, probabilities."""

    labels: np.ndarray
    probabilities: np.ndarray | None
    classes: list | None


class HttpEndpoint:
    """One serving endpoint. Thread-safe: each thread keeps its own keep-alive connection."""

    def __init__(self, name: str, url: str, fmt: str = "records", timeout: float = DEFAULT_TIMEOUT):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ModelError(f"model `{name}`: {url!r} is not an http:// or https:// URL")
        if fmt not in FORMATS:
            raise ModelError(f"model `{name}`: unknown format {fmt!r}; use format=\"records\" or format=\"mlflow\"")
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ModelError(f"model `{name}`: timeout must be a positive number of seconds, not {timeout!r}")
        self.name = name
        self.url = url
        self.format = fmt
        self.timeout = float(timeout)
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._local = threading.local()
        self.classes: list | None = None  # learnt from the first answer that names them
        self.on_classes = None  # called with the classes the first time an answer names them

    # ---- the three steps of a call (the latency harness times post + decode only) -------------
    def encode(self, frame) -> bytes:
        """The request body for a pandas DataFrame of feature rows."""
        key = "records" if self.format == "records" else "dataframe_records"
        try:
            body = json.dumps({key: to_records(frame)}, allow_nan=False, ensure_ascii=False)
        except ValueError as error:
            raise ModelError(f"model `{self.name}`: cannot send these rows as JSON: {error}") from error
        return body.encode("utf-8")

    def post(self, body: bytes) -> bytes:
        """POST one body; the answer's body (HTTP 200 only)."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        for attempt in (1, 2):
            reused = getattr(self._local, "connection", None) is not None
            try:
                connection, reused = self._connection()
                connection.request("POST", self._path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                status, reason = response.status, response.reason
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.BadStatusLine) as error:
                self._drop()
                # A kept-alive connection the server closed meanwhile: retry once on a new one.
                if attempt == 1 and reused:
                    continue
                raise HttpTransportError(f"model `{self.name}`: {self.url} closed the connection without answering "
                                         f"({type(error).__name__})") from error
            except (socket.timeout, TimeoutError) as error:
                self._drop()
                raise HttpTransportError(f"model `{self.name}`: no answer from {self.url} within "
                                         f"{self.timeout:g}s (timeout={self.timeout:g})") from error
            except ConnectionRefusedError as error:
                self._drop()
                raise HttpTransportError(f"model `{self.name}`: cannot connect to {self.url}: connection refused "
                                         "(is the server running?)") from error
            except (OSError, http.client.HTTPException) as error:
                self._drop()
                raise HttpTransportError(f"model `{self.name}`: cannot reach {self.url}: "
                                         f"{type(error).__name__}: {error}") from error
        if status != 200:
            preview = payload[:_BODY_PREVIEW].decode("utf-8", "replace").strip()
            raise HttpAnswerError(f"model `{self.name}`: {self.url} answered HTTP {status} {reason}"
                                  + (f": {preview}" if preview else ""))
        return payload

    def decode(self, payload: bytes, rows: int) -> Scored:
        """Check and unpack an answer for `rows` rows."""
        try:
            document = json.loads(payload)
        except ValueError as error:
            preview = payload[:80].decode("utf-8", "replace")
            raise HttpAnswerError(f"model `{self.name}`: {self.url} answered with invalid JSON ({error}); "
                                  f"the answer starts {preview!r}") from error
        classes = None
        if isinstance(document, dict) and "predictions" in document:
            predictions = document["predictions"]
            classes = document.get("classes")
        elif isinstance(document, list) and self.format == "mlflow":
            predictions = document
        else:
            raise HttpAnswerError(f"model `{self.name}`: {self.url} answered JSON without a `predictions` list "
                                  f"(see docs/serving.md for the {self.format} protocol)")
        if not isinstance(predictions, list):
            raise HttpAnswerError(f"model `{self.name}`: `predictions` from {self.url} is a "
                                  f"{type(predictions).__name__}, not a list")
        if len(predictions) != rows:
            raise HttpAnswerError(f"model `{self.name}`: {self.url} returned {len(predictions)} predictions for "
                                  f"{rows} row{'s' if rows != 1 else ''}")
        if classes is not None:
            if not isinstance(classes, list):
                raise HttpAnswerError(f"model `{self.name}`: `classes` from {self.url} is not a list")
            if self.classes is None and self.on_classes is not None:
                self.on_classes(classes)
            self.classes = classes
        scored = self._unpack(predictions, classes if classes is not None else self.classes)
        return scored

    def score(self, frame) -> Scored:
        """One call: encode, POST, decode."""
        return self.decode(self.post(self.encode(frame)), len(frame))

    # ---- LoadedModel's functions ---------------------------------------------------------------
    def predict(self, frame) -> np.ndarray:
        return self.score(frame).labels

    def predict_proba(self, frame) -> np.ndarray:
        scored = self.score(frame)
        if scored.probabilities is None:
            raise HttpAnswerError(f"model `{self.name}`: {self.url} answers labels only, no probabilities "
                                  "(answer lists of class probabilities or {\"label\", \"probabilities\"} objects)")
        return scored.probabilities

    def close(self) -> None:
        self._drop()

    # ---- internals ---------------------------------------------------------------------------------
    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            return connection, True
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port, timeout=self.timeout)
        connection.connect()
        try:  # no Nagle delay on small requests (a latency test must not measure TCP's 40 ms stalls)
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):  # pragma: no cover - not a TCP socket
            pass
        self._local.connection = connection
        return connection, False

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # pragma: no cover - closing a broken socket
                pass

    def _unpack(self, predictions: list, classes: list | None) -> Scored:
        kinds = {_element_kind(p) for p in predictions}
        if len(kinds) > 1:
            raise HttpAnswerError(f"model `{self.name}`: {self.url} mixes kinds of predictions "
                                  f"({', '.join(sorted(kinds))}); send all labels, all probability lists, "
                                  "or all {\"label\", \"probabilities\"} objects")
        kind = kinds.pop() if kinds else "value"
        if kind == "value":
            return Scored(_labels(predictions), None, classes)
        if kind == "list":
            probabilities = self._matrix(predictions)
            return Scored(_argmax_labels(probabilities, classes), probabilities, classes)
        # objects
        has_label = ["label" in p for p in predictions]
        has_proba = ["probabilities" in p for p in predictions]
        if not all(has_label) and not all(has_proba):
            raise HttpAnswerError(f"model `{self.name}`: prediction objects from {self.url} need a `label` or "
                                  "`probabilities` key (the same keys in every object)")
        probabilities = self._matrix([p["probabilities"] for p in predictions]) if all(has_proba) else None
        if all(has_label):
            labels = _labels([p["label"] for p in predictions])
        else:
            labels = _argmax_labels(probabilities, classes)
        return Scored(labels, probabilities, classes)

    def _matrix(self, rows: list) -> np.ndarray:
        widths = {len(r) if isinstance(r, list) else -1 for r in rows}
        if -1 in widths or len(widths) > 1:
            raise HttpAnswerError(f"model `{self.name}`: the probability lists from {self.url} are not all "
                                  "lists of the same length")
        try:
            return np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=np.float64).reshape(
                len(rows), widths.pop() if rows else 0)
        except (TypeError, ValueError) as error:
            raise HttpAnswerError(f"model `{self.name}`: the probabilities from {self.url} are not numbers") from error


def http_model(source: ModelSource):
    """The LoadedModel for `http("URL", format=..., timeout=...)`. Nothing is sent until a call."""
    from .models import LoadedModel

    options = dict(source.options)
    endpoint = HttpEndpoint(source.name, str(source.location), str(options.get("format", "records")),
                            options.get("timeout", DEFAULT_TIMEOUT))
    loaded = LoadedModel(source.name, "http", endpoint.predict, endpoint.predict_proba, None,
                         extra={"endpoint": endpoint, "url": endpoint.url, "format": endpoint.format})

    def learn(classes: list) -> None:
        if loaded.classes is None:
            loaded.classes = np.asarray(classes)

    endpoint.on_classes = learn
    return loaded


# ---- JSON encoding of rows ---------------------------------------------------------------------------
def to_records(frame) -> list[dict]:
    """A pandas DataFrame as a list of JSON-ready dicts (missing values → None)."""
    columns = [str(c) for c in frame.columns]
    values = [[json_value(v, column) for v in frame[c].tolist()] for c, column in zip(frame.columns, columns)]
    return [dict(zip(columns, row)) for row in zip(*values)] if columns else [{} for _ in range(len(frame))]


def json_value(value: Any, column: str = "") -> Any:
    """One cell as a JSON value: NaN/None/NA/NaT → None, numpy → Python, dates → ISO text."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise ValueError(f"{value} in `{column}` (JSON has no infinity)")
        return value
    if isinstance(value, np.generic):
        return json_value(value.item(), column)
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_value(v, column) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v, column) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    try:
        from decimal import Decimal

        if isinstance(value, Decimal):
            return json_value(float(value), column)
    except ImportError:  # pragma: no cover
        pass
    return str(value)


# ---- decoding helpers ----------------------------------------------------------------------------------
def _element_kind(prediction: Any) -> str:
    if isinstance(prediction, list):
        return "list"
    if isinstance(prediction, dict):
        return "object"
    return "value"


def _labels(values: list) -> np.ndarray:
    """Numbers, texts or booleans keep their NumPy type; mixed kinds or nulls stay Python objects."""
    kinds = {bool if isinstance(v, bool) else (float if isinstance(v, (int, float)) else type(v)) for v in values}
    if len(kinds) == 1 and kinds <= {bool, float, str}:
        return np.asarray(values)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _argmax_labels(probabilities: np.ndarray, classes: list | None) -> np.ndarray:
    if probabilities.shape[1] == 0:
        return np.asarray([None] * len(probabilities), dtype=object)
    filled = np.where(np.isnan(probabilities), -np.inf, probabilities)
    index = filled.argmax(axis=1)
    if classes is not None and len(classes) == probabilities.shape[1]:
        return np.asarray(classes)[index]
    return index
