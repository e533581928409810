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
given. What the answer holds is validated by models.LoadedModel like any model's output.

Safety (the contract comes from a pull request, grants.py):
- a contract reaches loopback hosts only; any other host needs the invocation's
  `--allow-host`. The check is made before connecting, on the URL's host and, for a name, on
  every address it resolves to (the connection then goes to those very addresses). Redirects
  are not followed: a 3xx is an answer other than 200, an error.
- `timeout=SECONDS` (default 10) bounds the whole call: connecting, sending, and reading the
  status, the headers and the body, however slowly the server drips them.
- an answer larger than `MAX_ANSWER_BYTES` (64 MiB) is refused, read no further; a JSON answer
  nested too deeply or holding an integer too long to convert is an error, not a crash.

Connections are kept alive per thread (http.client, standard library only). Every failure is a
ModelError naming the URL: `HttpTransportError` when no answer came (refused, reset, timed out),
`HttpAnswerError` when the server answered wrongly (non-200, invalid JSON, too large, wrong count).
"""
from __future__ import annotations

import functools
import io
import json
import math
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import ModelError
from ..escape import printable
from ..grants import HOST_GRANT, Grants, is_loopback
from ..models.answer import Answer
from .base import OptionType, SourceKind

if TYPE_CHECKING:
    import http.client
    from collections.abc import Callable

    import numpy as np

    from ..resolve.contract import ModelSource

FORMATS = ("records", "mlflow")
DEFAULT_TIMEOUT = 10.0
MAX_ANSWER_BYTES = 64 * 1024 * 1024
_BODY_PREVIEW = 200
_READ_CHUNK = 1 << 16


class HttpError(ModelError):
    """A call to an HTTP model failed."""


class HttpTransportError(HttpError):
    """No answer: the connection was refused or reset, or the server did not answer in time."""


class HttpAnswerError(HttpError):
    """The server answered, but not with one valid prediction per row."""


class _DeadlineExceeded(TimeoutError):
    """The call's total deadline passed (raised while connecting, sending or reading)."""


@dataclass
class Scored(Answer):
    """One answer, decoded: labels (or values) and, when the server sent them, probabilities."""

    classes: list | None = None


class HttpEndpoint:
    """One serving endpoint. Thread-safe: each thread keeps its own keep-alive connection."""

    def __init__(self, name: str, url: str, fmt: str = "records", timeout: float = DEFAULT_TIMEOUT,
                 grants: Grants | None = None, max_bytes: int = MAX_ANSWER_BYTES):
        parts = urlsplit(url)
        shown = printable(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ModelError(f"model `{name}`: {shown!r} is not an http:// or https:// URL")
        try:
            port = parts.port
        except ValueError as error:
            raise ModelError(f"model `{name}`: {shown!r} has an invalid port ({printable(error)})") from error
        if fmt not in FORMATS:
            raise ModelError(f"model `{name}`: unknown format {printable(repr(fmt))}; "
                             "use format=\"records\" or format=\"mlflow\"")
        if not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and 0 < timeout < math.inf):
            raise ModelError(f"model `{name}`: timeout must be a positive number of seconds, not {printable(repr(timeout))}")
        self.name = name
        self.url = url
        self.shown_url = shown
        self.format = fmt
        self.timeout = float(timeout)
        self.max_bytes = int(max_bytes)
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = port if port is not None else (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._granted = (grants or Grants()).allows_host(self._host, self._port) and not is_loopback(self._host)
        if not self._granted and not is_loopback(self._host):
            raise ModelError(f"model `{name}`: {shown} is not on a loopback host; a contract may reach "
                             f"`{printable(self._host)}` only if the invocation allows it: {HOST_GRANT}")
        self._local = threading.local()
        self.classes: list | None = None  # learnt from the first answer that names them
        self.on_classes: Callable[[list], None] | None = None  # called with the classes the first time an answer names them

    # ---- the three steps of a call (the latency harness times post + decode only) -------------
    def encode(self, frame) -> bytes:
        """The request body for a pandas DataFrame of feature rows."""
        key = "records" if self.format == "records" else "dataframe_records"
        try:
            body = json.dumps({key: to_records(frame)}, allow_nan=False, ensure_ascii=False)
        except ValueError as error:
            raise ModelError(f"model `{self.name}`: cannot send these rows as JSON: {printable(error)}") from error
        return body.encode("utf-8")

    def post(self, body: bytes) -> bytes:
        """POST one body; the answer's body (HTTP 200 only). The whole call, retry included,
        ends within `timeout` seconds."""
        import http.client

        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self._local.deadline = time.monotonic() + self.timeout
        for attempt in (1, 2):
            reused = getattr(self._local, "connection", None) is not None
            try:
                connection, reused = self._connection()
                connection.sock.settimeout(self._remaining())
                connection.request("POST", self._path, body=body, headers=headers)
                response = connection.getresponse()
                status, reason = response.status, response.reason
                payload = self._read_body(response, status)
                if not response.isclosed():  # not read to its end: the connection cannot be reused
                    self._drop()
                break
            except HttpError:
                self._drop()
                raise
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.BadStatusLine) as error:
                self._drop()
                # A kept-alive connection the server closed meanwhile: retry once on a new one.
                if attempt == 1 and reused:
                    continue
                raise HttpTransportError(f"model `{self.name}`: {self.shown_url} closed the connection without "
                                         f"answering ({type(error).__name__})") from error
            except TimeoutError as error:
                self._drop()
                raise HttpTransportError(f"model `{self.name}`: no answer from {self.shown_url} within "
                                         f"{self.timeout:g}s (timeout={self.timeout:g} bounds the whole call)") from error
            except ConnectionRefusedError as error:
                self._drop()
                raise HttpTransportError(f"model `{self.name}`: cannot connect to {self.shown_url}: connection "
                                         "refused (is the server running?)") from error
            except (OSError, http.client.HTTPException) as error:
                self._drop()
                raise HttpTransportError(f"model `{self.name}`: cannot reach {self.shown_url}: "
                                         f"{type(error).__name__}: {printable(error)}") from error
        if status != 200:
            preview = printable(payload[:_BODY_PREVIEW].decode("utf-8", "replace").strip(), _BODY_PREVIEW)
            raise HttpAnswerError(f"model `{self.name}`: {self.shown_url} answered HTTP {status} {printable(reason)}"
                                  + (f": {preview}" if preview else ""))
        return payload

    def decode(self, payload: bytes, rows: int) -> Scored:
        """Check the answer's structure and unpack it for `rows` rows (its values are validated
        by LoadedModel)."""
        try:
            document = json.loads(payload)
        except RecursionError as error:
            raise HttpAnswerError(f"model `{self.name}`: {self.shown_url} answered JSON nested too deeply to "
                                  "read") from error
        except ValueError as error:  # invalid JSON, or an integer literal too long to convert
            preview = printable(repr(payload[:80].decode("utf-8", "replace")), 120)
            raise HttpAnswerError(f"model `{self.name}`: {self.shown_url} answered with invalid JSON "
                                  f"({printable(error, 160)}); the answer starts {preview}") from error
        classes = None
        if isinstance(document, dict) and "predictions" in document:
            predictions = document["predictions"]
            classes = document.get("classes")
        elif isinstance(document, list) and self.format == "mlflow":
            predictions = document
        else:
            raise HttpAnswerError(f"model `{self.name}`: {self.shown_url} answered JSON without a `predictions` "
                                  f"list (see docs/serving.md for the {self.format} protocol)")
        if not isinstance(predictions, list):
            raise HttpAnswerError(f"model `{self.name}`: `predictions` from {self.shown_url} is a "
                                  f"{type(predictions).__name__}, not a list")
        if len(predictions) != rows:
            raise HttpAnswerError(f"model `{self.name}`: {self.shown_url} returned {len(predictions)} predictions "
                                  f"for {rows} row{'s' if rows != 1 else ''}")
        if classes is not None:
            if not isinstance(classes, list) or not all(isinstance(c, (str, int, float, bool)) for c in classes) \
                    or len({(type(c), c) for c in classes}) != len(classes):
                raise HttpAnswerError(f"model `{self.name}`: `classes` from {self.shown_url} is not a list of "
                                      "distinct labels")
            if self.classes is None and self.on_classes is not None:
                self.on_classes(classes)
            self.classes = classes
        scored = self._unpack(predictions, classes if classes is not None else self.classes)
        return scored

    def score(self, frame) -> Scored:
        """One call: encode, POST, decode."""
        return self.decode(self.post(self.encode(frame)), len(frame))

    # ---- LoadedModel's functions ---------------------------------------------------------------
    def predict(self, frame) -> Scored:
        """The whole answer: LoadedModel validates its probabilities too when it has them (a
        label picked as the argmax of NaN probabilities is no prediction)."""
        return self.score(frame)

    def predict_proba(self, frame) -> np.ndarray:
        scored = self.score(frame)
        if scored.probabilities is None:
            raise HttpAnswerError(f"model `{self.name}`: {self.shown_url} answers labels only, no probabilities "
                                  "(answer lists of class probabilities or {\"label\", \"probabilities\"} objects)")
        return scored.probabilities

    def close(self) -> None:
        self._drop()

    # ---- internals ---------------------------------------------------------------------------------
    def _remaining(self) -> float:
        remaining = self._local.deadline - time.monotonic()
        if remaining <= 0:
            raise _DeadlineExceeded()
        return remaining

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        import http.client

        connection = getattr(self._local, "connection", None)
        if connection is not None and connection.sock is not None:
            return connection, True
        self._drop()  # none yet, or the server closed it after its last answer
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port, timeout=self._remaining())
        if not self._granted:
            # Connect to the loopback addresses checked here, whatever the name resolves to later.
            addresses = self._loopback_addresses()
            # http.client's own hook (typeshed leaves it out)
            connection._create_connection = functools.partial(_connect_first, addresses)  # type: ignore[attr-defined]
        # typeshed says a class; http.client only calls it, as response_class(sock, method=...)
        connection.response_class = functools.partial(  # type: ignore[assignment]
            _bounded_response(), deadline=self._remaining)
        connection.connect()
        try:  # no Nagle delay on small requests (a latency test must not measure TCP's 40 ms stalls)
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):  # pragma: no cover - not a TCP socket
            pass
        self._local.connection = connection
        return connection, False

    def _loopback_addresses(self) -> list[tuple]:
        """Every address the host resolves to, all of them loopback, or an error."""
        try:
            found = socket.getaddrinfo(self._host, self._port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise HttpTransportError(f"model `{self.name}`: cannot resolve the host of {self.shown_url}: "
                                     f"{printable(error)}") from error
        outside = sorted({str(info[4][0]) for info in found if not is_loopback(str(info[4][0]))})
        if outside or not found:
            raise HttpError(f"model `{self.name}`: `{printable(self._host)}` resolves to addresses that are not "
                            f"loopback ({printable(', '.join(outside))}); a contract may reach them only if the "
                            f"invocation allows the host: {HOST_GRANT}")
        return [(info[0], info[4]) for info in found]

    def _read_body(self, response, status: int) -> bytes:
        """The body, at most `max_bytes` (a non-200 body: its preview only)."""
        limit = self.max_bytes if status == 200 else _BODY_PREVIEW
        if status == 200 and response.length is not None and response.length > limit:
            raise HttpAnswerError(f"model `{self.name}`: {self.shown_url} announced an answer of "
                                  f"{response.length:,} bytes, more than the {limit:,} accepted")
        parts, size = [], 0
        while size <= limit:
            part = response.read(min(_READ_CHUNK, limit + 1 - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
        if size > limit and status == 200:
            raise HttpAnswerError(f"model `{self.name}`: {self.shown_url} answered more than {limit:,} bytes; "
                                  "the answer was not read further")
        return b"".join(parts)

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
            raise HttpAnswerError(f"model `{self.name}`: {self.shown_url} mixes kinds of predictions "
                                  f"({', '.join(sorted(kinds))}); send all labels, all probability lists, "
                                  "or all {\"label\", \"probabilities\"} objects")
        kind = kinds.pop() if kinds else "value"
        if kind == "value":
            return Scored(_labels(predictions), None, classes)
        if kind == "list":
            matrix = self._matrix(predictions)
            return Scored(_argmax_labels(matrix, classes), matrix, classes)
        # objects
        has_label = ["label" in p for p in predictions]
        has_proba = ["probabilities" in p for p in predictions]
        if not all(has_label) and not all(has_proba):
            raise HttpAnswerError(f"model `{self.name}`: prediction objects from {self.shown_url} need a `label` or "
                                  "`probabilities` key (the same keys in every object)")
        probabilities = self._matrix([p["probabilities"] for p in predictions]) if all(has_proba) else None
        if probabilities is not None and not all(has_label):
            labels = _argmax_labels(probabilities, classes)
        else:
            labels = _labels([p["label"] for p in predictions])
        return Scored(labels, probabilities, classes)

    def _matrix(self, rows: list) -> np.ndarray:
        widths = {len(r) if isinstance(r, list) else -1 for r in rows}
        if -1 in widths or len(widths) > 1:
            raise HttpAnswerError(f"model `{self.name}`: the probability lists from {self.shown_url} are not all "
                                  "lists of the same length")
        import numpy as np

        try:
            return np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=np.float64).reshape(
                len(rows), widths.pop() if rows else 0)
        except (TypeError, ValueError, OverflowError) as error:
            raise HttpAnswerError(f"model `{self.name}`: the probabilities from {self.shown_url} are not "
                                  "numbers") from error


class _DeadlineReader(io.RawIOBase):
    """A socket file that gives each read only the time left before the call's deadline (a
    socket timeout alone bounds each read: a server dripping a byte a second never trips it)."""

    def __init__(self, raw, sock, remaining):
        self._raw = raw  # the socket file http.client opened (it keeps the socket open until closed)
        self._sock = sock
        self._remaining = remaining

    def readable(self) -> bool:
        return True

    def readinto(self, buffer):
        self._sock.settimeout(self._remaining())
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


@functools.cache
def _bounded_response() -> type:
    """An HTTPResponse whose status line, headers and body are read within the call's deadline
    (a class made on first use: http.client, and ssl with it, load only for http() models)."""
    import http.client

    class _BoundedResponse(http.client.HTTPResponse):
        def __init__(self, sock, *args, deadline, **kwargs):
            super().__init__(sock, *args, **kwargs)
            self.fp = io.BufferedReader(_DeadlineReader(self.fp.detach(), sock, deadline))

    return _BoundedResponse


def _connect_first(addresses: list[tuple], address, timeout=None, source_address=None):
    """socket.create_connection over the addresses checked before connecting (each in turn)."""
    error: OSError | None = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if timeout is not None:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as failed:
            sock.close()
            error = failed
    raise error if error is not None else OSError("no address to connect to")


def http_model(source: ModelSource, grants: Grants | None = None):
    """The LoadedModel for `http("URL", format=..., timeout=...)`. Nothing is sent until a call;
    a host the invocation does not allow is refused here."""
    from ..models.loaded import LoadedModel

    options = dict(source.options)
    endpoint = HttpEndpoint(source.name, str(source.location), str(options.get("format", "records")),
                            options.get("timeout", DEFAULT_TIMEOUT), grants)
    loaded = LoadedModel(source.name, "http", endpoint.predict, endpoint.predict_proba, None,
                         extra={"endpoint": endpoint, "url": endpoint.url, "format": endpoint.format})

    def learn(classes: list) -> None:
        import numpy as np

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
    import numpy as np

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
    import numpy as np

    kinds = {bool if isinstance(v, bool) else (float if isinstance(v, (int, float)) else type(v)) for v in values}
    if len(kinds) == 1 and kinds <= {bool, float, str}:
        return np.asarray(values)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _argmax_labels(probabilities: np.ndarray, classes: list | None) -> np.ndarray:
    import numpy as np

    if probabilities.shape[1] == 0:
        return np.asarray([None] * len(probabilities), dtype=object)
    filled = np.where(np.isnan(probabilities), -np.inf, probabilities)
    index = filled.argmax(axis=1)
    if classes is not None and len(classes) == probabilities.shape[1]:
        return np.asarray(classes)[index]
    return index


def _valid_timeout(value) -> bool:
    return isinstance(value, (int, float)) and value > 0


KINDS = (
    SourceKind("http", "model", summary="a model served over HTTP (loopback hosts unless --allow-host)",
               example="http://127.0.0.1:8000/predict", location="url", schemes=("http://", "https://"), rank=40,
               options={"timeout": OptionType("a positive number of seconds or a duration", _valid_timeout),
                        "format": OptionType('"records" or "mlflow"', lambda value: value in FORMATS)},
               load=http_model),
)
