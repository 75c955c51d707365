"""What a checkpoint stores besides weights, read as untrusted data: its run configuration and
its data scaling, checked before anything is built from them."""

from __future__ import annotations

import math
from pathlib import Path

from .._validation import InputError
from ..checkpoint import CheckpointError
from .config import RunConfig, with_stored_defaults

__all__ = ["check_data_info", "stored_config"]


def stored_config(stored: object, path: Path) -> RunConfig:
    """The resolved run configuration a checkpoint at ``path`` stores (plain data from a file);
    a model argument it leaves out takes the default it was written under
    (:data:`~torchgan_lstm.app.config.STORED_DEFAULTS`).

    Raises:
        CheckpointError: not a mapping, or parts of the wrong shape or type; the message names
            the checkpoint.
    """
    where = f"checkpoint {str(path)!r}"
    if not isinstance(stored, dict):
        raise CheckpointError(f"{where}: run_config must be a mapping, got {type(stored).__name__}")
    try:
        return with_stored_defaults(RunConfig.from_dict(stored)).resolved()
    except InputError as err:
        raise CheckpointError(f"{where}: {err}") from err
    except (TypeError, ValueError, KeyError, AttributeError) as err:  # parts of the wrong type
        raise CheckpointError(
            f"{where} holds a malformed run configuration ({type(err).__name__}: {err})"
        ) from err


def check_data_info(info: dict, path: Path) -> None:
    """Refuse a checkpoint's data scaling (``data_info``) that is not lists of finite numbers.

    Raises:
        CheckpointError: names the checkpoint and the key.
    """
    for key in ("scaler_min", "scaler_max"):
        values = info.get(key, [])
        if not isinstance(values, list) or not all(
            isinstance(v, int | float) and math.isfinite(v) for v in values
        ):
            raise CheckpointError(
                f"checkpoint {str(path)!r}: data_info.{key} must be a list of finite numbers, "
                f"got {values!r:.200}"
            )
    if "table" in info:
        from ..data import TableCodec

        try:
            TableCodec.from_dict(info["table"], f"checkpoint {str(path)!r}: data_info.table")
        except InputError as err:
            raise CheckpointError(str(err)) from None
