"""What the invocation allows a contract to do, beyond its safe defaults.

A contract comes from a pull request; the command line (or the API call) comes from the
maintainers. So a contract can never grant itself anything: every privilege below is given by
the invocation, and every refusal names the flag and the API argument that grant it
(docs/security.md).

- Files: a contract reads data, model and history files inside its repository (the git work
  tree holding the contract, else the contract's folder) or the working directory. Anything
  else needs `--allow-path DIR` / `allow_paths=[DIR]`.
- Network: `http(...)` models reach loopback hosts. Any other host needs
  `--allow-host HOST[:PORT]` / `allow_hosts=["HOST[:PORT]"]`.
- Code: unpickling (`sklearn("x.joblib")`, `.pkl`) and skops types outside the allowlist of
  safe modules need `--allow-pickle` / `allow_pickle=True`.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

PATH_GRANT = "--allow-path DIR (API: allow_paths=[DIR])"
HOST_GRANT = "--allow-host HOST[:PORT] (API: allow_hosts=[\"HOST[:PORT]\"])"
PICKLE_GRANT = "--allow-pickle (API: allow_pickle=True)"


@dataclass(frozen=True)
class Grants:
    """Privileges granted by the invocation. The default grants nothing."""

    paths: tuple[Path, ...] = ()  # extra folders whose files a contract may read
    hosts: tuple[str, ...] = ()  # non-loopback hosts, `HOST` (any port) or `HOST:PORT`
    pickle: bool = False  # unpickling, and skops types outside the safe allowlist

    @classmethod
    def of(cls, allow_paths: Iterable[str | Path] | None = None, allow_hosts: Iterable[str] | None = None,
           allow_pickle: bool = False) -> "Grants":
        """Grants from API / CLI arguments (paths are resolved now, against the working directory)."""
        from .errors import UsageError

        if isinstance(allow_paths, (str, Path)) or isinstance(allow_hosts, str):
            raise UsageError("allow_paths and allow_hosts take lists, e.g. allow_paths=[\"/data\"]")
        paths = []
        for path in allow_paths or ():
            try:
                paths.append(Path(path).expanduser().resolve())
            except (OSError, RuntimeError, ValueError) as error:
                raise UsageError(f"--allow-path {path}: {error}") from error
        hosts = []
        for host in allow_hosts or ():
            text = str(host).strip().lower()
            if not text or any(c.isspace() or c in "/@?#" for c in text):
                raise UsageError(f"--allow-host takes HOST or HOST:PORT, not {host!r}")
            hosts.append(text)
        return cls(tuple(paths), tuple(hosts), bool(allow_pickle))

    def allows_host(self, host: str, port: int | None) -> bool:
        """Loopback hosts always; any other host only when granted (as HOST or HOST:PORT)."""
        host = (host or "").lower().strip("[]")
        if is_loopback(host):
            return True
        return host in self.hosts or (port is not None and f"{host}:{port}" in self.hosts) \
            or (port is not None and f"[{host}]:{port}" in self.hosts)


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address (127.0.0.0/8, ::1). Names other than `localhost` are
    not resolved: DNS is not the contract's to choose."""
    host = host.lower().strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def repository_root(folder: Path) -> Path:
    """The git work tree holding `folder` (its nearest ancestor with a `.git`), else `folder`."""
    folder = folder.resolve()
    for candidate in (folder, *folder.parents):
        try:
            if (candidate / ".git").exists():
                return candidate
        except OSError:
            break
    return folder
