"""Writing mlc's output files (`mlc check --json`, `mlc profile -o`) without destroying anything.

The text goes to a new temporary file created exclusively (O_CREAT | O_EXCL, a random name, in
the target's folder, so the rename below stays on one file system), is flushed to disk, and
the temporary file is renamed over the target. So:
- a reader of the target sees the old file or the new one, never half of one;
- two writers to one target never fail nor mix their texts: the last rename wins;
- a symlink at the target is replaced, never written through (the file it points to is left
  alone), and O_EXCL never follows a symlink planted at the temporary name;
- a target that is not a regular file (a folder, a FIFO, a device), a symlink to one (such as
  /dev/stdout), or anything under /dev, /proc or /sys is refused: renaming over it would replace
  a device node or a system link by a file, and writing into it is not what an output file
  means.
"""
from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from .errors import UsageError
from .grants import SPECIAL_FILE_SYSTEMS

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def write_text(path: str | Path, text: str, option: str = "the output") -> Path:
    """Write `text` (UTF-8) to `path` atomically, creating its folder if needed. A target that
    may not be replaced is a UsageError naming `option` (e.g. `--json`); a failing disk is an
    OSError (the caller says what it was writing), and leaves the target as it was."""
    target = check_target(path, option)
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


def check_target(path: str | Path, option: str = "the output") -> Path:
    """The target as a Path, or a UsageError when it cannot be an output file: no file name, in
    /dev, /proc or /sys, or something other than a regular file (or a symlink to one). The CLI
    calls this before the work too, so that a wrong target fails fast."""
    target = Path(path)
    if not str(path) or target.name in ("", ".", ".."):
        raise UsageError(f"{option} needs a file name")
    _refuse_special(target, option)
    return target


def _refuse_special(target: Path, option: str) -> None:
    """Refuse a target in /dev, /proc or /sys, or one that is (or is a symlink to) something
    other than a regular file. A symlink to a regular file, or to nothing, is replaced."""
    try:
        places = {Path(os.path.abspath(target)), target.parent.resolve() / target.name}
    except (OSError, RuntimeError, ValueError):
        places = set()  # the folder cannot be resolved: creating it reports the problem
    for system in SPECIAL_FILE_SYSTEMS:
        if any(place == system or system in place.parents for place in places):
            raise UsageError(f"{option} {target}: it is under {system}; mlc writes its output to a new regular "
                             "file and renames it over the target, so give a file name (e.g. results.json)")
    try:
        mode = os.lstat(target).st_mode
        linked = stat.S_ISLNK(mode)
        if linked:
            mode = os.stat(target).st_mode
    except (OSError, ValueError):
        return  # nothing there (or a dangling symlink): a new file takes the name
    for test, kind in _KINDS:
        if test(mode):
            what = f"a symlink to {kind}" if linked else kind
            raise UsageError(f"{option} {target}: it is {what}, not a regular file; mlc writes its output to a "
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
