"""What the invocation allows a contract to do, beyond its safe defaults.

A contract comes from a pull request; the command line (or the API call) comes from the
maintainers. So a contract can never grant itself anything: every privilege below is given by
the invocation, and every refusal names the flag and the API argument that grant it
(docs/security.md).

- Files: a contract reads data, model and history files inside its repository (the git work
  tree holding the contract, else the contract's folder) or the working directory, judged
  after following symlinks. Anything else needs `--allow-path DIR` / `allow_paths=[DIR]`.
  Special files (/proc, /sys, /dev, FIFOs, sockets, devices) are never inputs, granted or not.
- Network: `http(...)` models reach loopback hosts. Any other host needs
  `--allow-host HOST[:PORT]` / `allow_hosts=["HOST[:PORT]"]`.
- Code: unpickling (`sklearn("x.joblib")`, `.pkl`) and skops types outside the allowlist of
  safe modules need `--allow-pickle` / `allow_pickle=True`.
"""
from __future__ import annotations

import ipaddress
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PATH_GRANT = "--allow-path DIR (API: allow_paths=[DIR])"
HOST_GRANT = "--allow-host HOST[:PORT] (API: allow_hosts=[\"HOST[:PORT]\"])"
PICKLE_GRANT = "--allow-pickle (API: allow_pickle=True)"


@dataclass(frozen=True)
class Grants:
    """Privileges granted by the invocation. The default grants nothing."""

    paths: tuple[Path, ...] = ()  # extra folders whose files a contract may read
    hosts: tuple[str, ...] = ()  # non-loopback hosts, `HOST` (any port) or `HOST:PORT`
    pickle: bool = False  # unpickling, and skops types outside the safe allowlist
    # Not a privilege, but like them the invocation's alone: the MLflow tracking/registry server
    # mlflow("models:/...") models come from (None: the environment's MLFLOW_TRACKING_URI).
    mlflow_uri: str | None = None

    @classmethod
    def of(cls, allow_paths: Iterable[str | Path] | None = None, allow_hosts: Iterable[str] | None = None,
           allow_pickle: bool = False, mlflow_uri: str | None = None) -> Grants:
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
        if mlflow_uri is not None and (not isinstance(mlflow_uri, str) or not mlflow_uri.strip()):
            raise UsageError(f"--mlflow-uri takes a tracking URI such as http://127.0.0.1:5000, not {mlflow_uri!r}")
        return cls(tuple(paths), tuple(hosts), bool(allow_pickle), mlflow_uri.strip() if mlflow_uri else None)

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


# File systems whose "files" are the machine's state (a process's environment, kernel
# settings, devices): never data, whatever the invocation grants.
SPECIAL_FILE_SYSTEMS = (Path("/proc"), Path("/sys"), Path("/dev"))
_SPECIAL_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                  (stat.S_ISBLK, "a block device"))


def special_file(path: Path) -> str | None:
    """Why `path` is a special file that is never an input (None: it is not one). `path` is
    judged after following symlinks; a path that does not exist is not special."""
    try:
        real = path.resolve()
    except (OSError, RuntimeError, ValueError) as error:  # a symlink loop, a NUL byte
        return f"it cannot be resolved ({getattr(error, 'strerror', None) or error})"
    for system in SPECIAL_FILE_SYSTEMS:
        if _inside(real, system):
            return f"it is {real}, under {system}: special files are never inputs"
    try:
        mode = os.stat(real).st_mode
    except OSError:
        return None  # missing or unreadable: the reader reports it
    for test, kind in _SPECIAL_KINDS:
        if test(mode):
            return f"it is {kind}: special files are never inputs"
    return None


@dataclass(frozen=True)
class Confinement:
    """Where a contract may read files: its repository, the working directory, and the folders
    the invocation grants."""

    repository: Path
    working_directory: Path | None
    granted: tuple[Path, ...] = ()

    @classmethod
    def of(cls, contract_folder: Path, grants: Grants) -> Confinement:
        try:
            cwd: Path | None = Path.cwd().resolve()
        except OSError:  # the working directory was deleted: it grants nothing
            cwd = None
        return cls(repository_root(contract_folder), cwd, grants.paths)

    def refusal(self, path: Path, pattern: str | None = None) -> str | None:
        """Why the contract may not read `path`, in words that say how to grant it (None: it may).
        A folder (a partitioned parquet dataset) or the glob `pattern` a `glob=true` dataset
        reads is judged with everything a reader would open through it: a symlink or a FIFO
        among its files is refused too. Without a pattern, `*?[` in a path are literal."""
        reason = self._member_refusal(path, "it")
        if reason:
            return reason
        for member in _members(path, pattern):
            reason = self._member_refusal(member, f"{member}, in it,")
            if reason:
                return reason
        return None

    def _member_refusal(self, path: Path, called: str) -> str | None:
        special = special_file(path)
        if special:
            return special if called == "it" else f"{called} is not readable: {special}"
        real = path.resolve()
        roots = (self.repository, *((self.working_directory,) if self.working_directory else ()), *self.granted)
        if any(_inside(real, root) for root in roots):
            return None
        where = f"the contract's repository ({self.repository})"
        if self.working_directory and self.working_directory != self.repository:
            where += f" and the working directory ({self.working_directory})"
        return f"{called} resolves to {real}, outside {where}; to let the contract read it, grant its folder: {PATH_GRANT}"


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _members(path: Path, pattern: str | None):
    """What a reader may open through `path` that needs judging besides `path` itself: the
    matches of the glob pattern, and the symlinks and special files under a folder (symlinked
    folders followed once judged, each folder once). A plain file or folder under a folder
    inside the allowed roots is inside them too."""
    import glob

    starts = []
    if pattern is not None:
        try:
            starts = [Path(match) for match in glob.glob(pattern, recursive=True)]
        except (OSError, ValueError, re.error):
            starts = []
        yield from starts
    try:
        if path.is_dir():
            starts.append(path)
    except OSError:
        pass
    seen: set[Path] = set()
    folders = [start for start in starts if start.is_dir()]
    while folders:
        folder = folders.pop()
        real = folder.resolve()
        if real in seen:
            continue
        seen.add(real)
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # unreadable: the reader reports it
        for entry in entries:
            try:
                plain = entry.is_file(follow_symlinks=False) or entry.is_dir(follow_symlinks=False)
                if not plain:  # a symlink or a special file: judged before anything else
                    yield Path(entry.path)
                if entry.is_dir():  # follows a symlink, which was judged above before it is entered
                    folders.append(Path(entry.path))
            except OSError:
                continue
