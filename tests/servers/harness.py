"""Start and stop a real HTTP model server (tests/servers/model_server.py) on loopback."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SERVER = Path(__file__).with_name("model_server.py")


class ModelServer:
    """`with ModelServer({"lenient": path}) as server: server.url("lenient/records")`.

    The listening socket is bound here (port 0: a free port, no race) and handed to the
    server process; the server is always terminated on exit."""

    def __init__(self, models: dict[str, Path], startup_timeout: float = 60.0):
        self.models = models
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def __enter__(self) -> "ModelServer":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        fd = listener.fileno()
        os.set_inheritable(fd, True)
        command = [sys.executable, str(SERVER), "--fd", str(fd)]
        for name, path in self.models.items():
            command += ["--model", f"{name}={path}"]
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, pass_fds=(fd,), stdout=self._log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONWARNINGS": "ignore"})
        listener.close()  # the server process holds its own copy
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the model server exited ({self.process.returncode}): {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url("health"), timeout=2) as response:
                    if response.status == 200 and json.loads(response.read()).get("ok"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the model server did not answer within {self.startup_timeout:g}s")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        self._log.close()

    def log(self) -> str:
        """What the server printed so far."""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def __exit__(self, *exc) -> None:
        self.stop()


def free_port() -> int:
    """A port nothing listens on (for the server-down test)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
