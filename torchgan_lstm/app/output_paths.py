"""Where the commands may write: never over the user's files unless told to.

A run writes into its own folder; a folder that already holds anything is refused unless it is
the same run being resumed or the user passes ``--overwrite`` (which then replaces only the
files a run writes: nothing is deleted). The same care holds for ``sample --out``, ``export``
and ``evaluate --json``. Empty, root and home folders are never a run's folder. Every check
runs before any work and writes nothing, so a refusal loses nothing and leaves no trace.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .._validation import InputError

__all__ = ["check_output_file", "check_output_folder", "check_run_folder"]

_OVERWRITE_HINT = "pick a new one, or pass --overwrite to replace what the command writes there"


def _checked_path(value: str | os.PathLike, option: str) -> Path:
    text = os.fspath(value)
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{option} must name a folder or file, got {text!r}")
    path = Path(text).expanduser()
    resolved = path.resolve()
    if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
        raise InputError(
            f"{option} must not be a filesystem root or the home folder, got {text!r}: a "
            f"command writes several files there; name a folder of their own"
        )
    return path


def _check_writable(path: Path, option: str, shown: Path | None = None) -> None:
    # The nearest folder that exists must let us create what is missing below it; a probe
    # folder made and removed there says so for certain (permissions, read-only or virtual
    # file systems), and leaves nothing behind.
    shown = path if shown is None else shown
    existing = path
    while not existing.exists():
        if existing.is_symlink():  # a dangling link: writing would follow it elsewhere
            raise InputError(f"{option} {str(shown)!r} goes through a broken symbolic link "
                             f"{str(existing)!r}")  # fmt: skip
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{option} {str(shown)!r} cannot be created: {str(existing)!r} is a "
                         f"file, not a folder")  # fmt: skip
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".torchgan-lstm-probe-", dir=existing))
    except OSError as err:
        what = "cannot be created" if existing != shown else "is not writable"
        raise InputError(f"{option} {str(shown)!r} {what}: {err.strerror} in "
                         f"{str(existing)!r}") from None  # fmt: skip


def check_run_folder(
    out: str | os.PathLike, resume_from: Path | None = None, overwrite: bool = False
) -> Path:
    """Check that a training run may write into ``out``; return it as a ``Path``.

    Args:
        out: the run folder (``--out``).
        resume_from: the checkpoint being resumed, if any: a folder holding it (its
            ``checkpoints/``) is the same run and may be written.
        overwrite: the user agreed to replace the files a run writes in a non-empty folder.

    Raises:
        InputError: ``out`` is empty, a root or home folder, a file, not writable, or a folder
            that already holds files of something else than the run being resumed (without
            ``overwrite``).
    """
    path = _checked_path(out, "--out")
    if path.exists() and not path.is_dir():
        raise InputError(f"--out {str(path)!r} is a file; a run writes a folder: name a new one")
    _check_writable(path, "--out")
    held = sorted(p.name for p in path.iterdir()) if path.is_dir() else []
    if not held or overwrite:
        return path
    if resume_from is not None and Path(resume_from).resolve().parent.parent == path.resolve():
        return path
    shown = ", ".join(held[:4]) + (", ..." if len(held) > 4 else "")
    what = "an earlier run" if (path / "config.yaml").is_file() else "files"
    raise InputError(
        f"--out {str(path)!r} already holds {what} ({shown}); a run never writes over them: "
        f"name a new folder, --resume auto to continue the run there, or --overwrite to replace "
        f"the files a run writes"
    )


def check_output_file(path: str | os.PathLike, option: str, overwrite: bool = False) -> Path:
    """Check that a command may write the file ``path`` (``sample --out``, ``evaluate --json``).

    Raises:
        InputError: the path is empty, a root or home folder, a folder, not writable, or an
            existing file (without ``overwrite``).
    """
    path = _checked_path(path, option)
    if path.is_dir():
        raise InputError(f"{option} {str(path)!r} is a folder; name a file")
    if path.exists() and not overwrite:
        raise InputError(f"{option} {str(path)!r} already exists: {_OVERWRITE_HINT}")
    _check_writable(path.parent, option, path)
    return path


def check_output_folder(path: str | os.PathLike, option: str, overwrite: bool = False) -> Path:
    """Check that a command may write its files into the folder ``path`` (``export``,
    ``sample --format folder``).

    Raises:
        InputError: the path is empty, a root or home folder, a file, not writable, or a
            folder that holds anything (without ``overwrite``).
    """
    path = _checked_path(path, option)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {str(path)!r} is a file; name a folder")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise InputError(f"{option} {str(path)!r} already holds files: {_OVERWRITE_HINT}")
    _check_writable(path, option)
    return path
