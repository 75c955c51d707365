"""Where the commands may write: never over the user's files unless told to.

A run writes into its own folder; a folder that already holds anything is refused unless it is
the same run being resumed or the user passes ``--overwrite`` (which then replaces only the
files a run writes: nothing is deleted). The same care holds for ``sample --out``, ``export``
and ``evaluate --json``. Empty, root and home folders are never a run's folder. Every check
runs before any work (and makes the folder it checks), so a refusal loses nothing.
"""

from __future__ import annotations

import os
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


def _make_folder(folder: Path, option: str, shown: Path) -> None:
    # Made now, so that a place that cannot be written is found before any work.
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{option} {str(shown)!r} cannot be created: a file stands in its "
                         f"way") from None  # fmt: skip
    except OSError as err:
        raise InputError(f"{option} {str(shown)!r} cannot be created: {err.strerror}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option} {str(shown)!r} is not writable: no permission to write in "
                         f"{str(folder)!r}")  # fmt: skip


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
    _make_folder(path, "--out", path)
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
    _make_folder(path.parent, option, path)
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
    _make_folder(path, option, path)
    return path
