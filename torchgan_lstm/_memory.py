"""The memory a request may take: this machine's RAM, and one refusal for what exceeds it.

Sizes come from configurations, checkpoints and the command line, all of which may come from
someone else; a request whose estimate exceeds the machine's memory is refused before anything
is allocated, instead of allocating until the machine swaps or the kernel kills the process.
"""

from __future__ import annotations

import os

from ._validation import InputError

__all__ = ["LIMIT_VARIABLE", "check_memory", "format_bytes", "memory_limit"]

LIMIT_VARIABLE = "TORCHGAN_LSTM_MAX_MEMORY_GIB"

# Where the machine does not say (no sysconf), assume a workstation's memory.
_FALLBACK_LIMIT = 16 * 2**30
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def memory_limit() -> int:
    """The most bytes one request may need: this machine's physical memory, or less where the
    environment variable ``TORCHGAN_LSTM_MAX_MEMORY_GIB`` says so (e.g. on a shared machine).

    Returns:
        ``SC_PHYS_PAGES * SC_PAGE_SIZE``, or 16 GiB where the system does not report it.

    Raises:
        InputError: the variable is set but not a number > 0.
    """
    given = os.environ.get(LIMIT_VARIABLE, "").strip()
    if given:
        try:
            gib = float(given)
        except ValueError:
            gib = float("nan")
        if not gib > 0 or gib == float("inf"):
            raise InputError(f"{LIMIT_VARIABLE} must be a number of GiB > 0, got {given!r}")
        return int(gib * 2**30)
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return _FALLBACK_LIMIT


def format_bytes(count: int | float) -> str:
    """``count`` bytes in binary units, e.g. ``"24 GiB"``, ``"3.2e+12 YiB"``."""
    value, unit = float(count), _UNITS[0]
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            break
        value /= 1024
    return f"{value:.3g} {unit}"


def check_memory(what: str, needed: int | float, use: str = "") -> None:
    """Refuse a request estimated to need more memory than this machine has.

    Args:
        what: the value responsible, as the user gave it (``"data.seq_len=1000000000"``).
        needed: the estimate, in bytes.
        use: what the memory is for (``"for its weights"``), for the message.

    Raises:
        InputError: ``needed`` exceeds :func:`memory_limit`; the message names ``what``, the
            estimate and the machine's memory.
    """
    limit = memory_limit()
    if needed > limit:
        use = f" {use}" if use else ""
        raise InputError(
            f"{what} needs about {format_bytes(needed)}{use}; this machine has "
            f"{format_bytes(limit)} ({LIMIT_VARIABLE} sets a lower limit)"
        )
