"""Writing mlc's output files (`mlc check --json`, `mlc profile -o`) without destroying anything.

The text goes to a new temporary file created exclusively (O_CREAT | O_EXCL, a random name, in
the target's folder, so the rename below stays on one file system), is flushed to disk, and
the temporary file is renamed over the target. So:
- a reader of the target sees the old file or the new one, never half of one;
- two writers to one target never fail nor mix their texts: the last rename wins;
- a symlink at the target is replaced, never written through (the file it points to is left
  alone), and O_EXCL never follows a symlink planted at the temporary name;
- a target that is not a regular file (a folder, a FIFO, a device such as /dev/null or
  /dev/stdout) is refused: renaming over it would replace a device node by a file, and writing
  into it is not what an output file means.
"""
from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from .errors import UsageError

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def write_text(path: str | Path, text: str, option: str = "the output") -> Path:
    """Write `text` (UTF-8) to `path` atomically, creating its folder if needed. A target that
    may not be replaced is a UsageError naming `option` (e.g. `--json`); a failing disk is an
    OSError (the caller says what it was writing), and leaves the target as it was."""
    target = Path(path)
    if not str(path) or target.name in ("", ".", ".."):
        raise UsageError(f"{option} needs a file name")
    _refuse_special(target, option)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = _create_exclusively(target)
    try:
        with open(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _refuse_special(target: Path, option: str) -> None:
    """A target that exists and is not a regular file (nor a symlink, which is replaced)."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        return  # e.g. a parent that is a file: creating the folder reports it
    for test, kind in _KINDS:
        if test(mode):
            raise UsageError(f"{option} {target}: it is {kind}, not a regular file; mlc writes its output to a "
                             "new file and renames it over the target, so it replaces only regular files "
                             "(give a file name)")


def _create_exclusively(target: Path) -> tuple[int, str]:
    """A new, empty file beside `target` that no one else has open: (descriptor, path). The
    mode is 0o666 less the umask, like any file the user creates."""
    for _ in range(100):
        name = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), str(name)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")
