"""YAML from files a user may have received: plain data only, and bounded in size.

``yaml.safe_load`` builds no objects but plain ones, yet a document of nested anchors and aliases
(a few hundred bytes) stands for billions of values: anything that walks, copies or prints the
result expands them. :func:`load_yaml` counts the values a document stands for, aliases
expanded, before building anything, and refuses one that stands for more than a limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .._validation import InputError

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_YAML_VALUES",
    "check_expansion",
    "load_yaml",
    "read_yaml_file",
]

# A run's config.yaml holds about 80 values and 2 KB; these leave room for hand-written ones.
MAX_YAML_VALUES = 100_000
MAX_CONFIG_BYTES = 1 << 20


def load_yaml(text: str, where: str, max_values: int = MAX_YAML_VALUES) -> Any:
    """Parse one YAML document of plain data, refusing one that expands past ``max_values``.

    Args:
        text: the document.
        where: what it is, for messages (e.g. ``"config file 'run.yaml'"``).
        max_values: the most scalars, sequences and mappings the document may stand for, each
            alias counted as often as it is used.

    Returns:
        The document's data (``None`` for an empty one).

    Raises:
        InputError: not valid YAML, more than one document, a recursive alias, or a document
            that stands for more than ``max_values`` values.
    """
    try:
        check_expansion(text, where, max_values)
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        reason = " ".join(str(err).split())
        raise InputError(f"{where} is not valid YAML: {reason}") from None


def check_expansion(text: str, where: str, max_values: int = MAX_YAML_VALUES) -> None:
    """Refuse a YAML document that stands for more than ``max_values`` values.

    Only the document's node graph is built (each anchor once), never the data.

    Raises:
        InputError: a recursive alias, or more than ``max_values`` values with aliases
            expanded.
        yaml.YAMLError: not valid YAML (left to the caller, which may read it otherwise).
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is not None and _expanded_size(node, {}, set(), max_values, where) > max_values:
        raise InputError(
            f"{where} expands to more than {max_values:,} values through its YAML aliases "
            f"(anchors '&' used by '*'); write the values out instead"
        )


def read_yaml_file(path: str | Path, what: str = "config file") -> Any:
    """Read a YAML file with :func:`load_yaml`, refusing files over :data:`MAX_CONFIG_BYTES`.

    Raises:
        InputError: the path is missing, a folder, unreadable, too large, not UTF-8 or not
            bounded YAML; the message names the file.
    """
    path = Path(path)
    where = f"{what} {str(path)!r}"
    if path.is_dir():
        raise InputError(f"{where} is a folder, not a file")
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise InputError(f"{where} is {size:,} bytes; a config file may hold at most "
                             f"{MAX_CONFIG_BYTES:,}")  # fmt: skip
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{where} does not exist") from None
    except UnicodeDecodeError as err:
        raise InputError(f"{where} is not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise InputError(f"{where} cannot be read: {err.strerror}") from None
    return load_yaml(text, where)


def _expanded_size(
    node: yaml.Node, sizes: dict[int, int], open_: set[int], limit: int, where: str
) -> int:
    # Sizes are memoised per node: an alias is the same node object as its anchor, so the walk
    # costs one visit per distinct node while the count grows as the expansion would.
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        raise InputError(f"{where} holds a recursive YAML alias (an anchor used inside itself)")
    if isinstance(node, yaml.ScalarNode):
        return 1
    open_.add(key)
    children = node.value if isinstance(node, yaml.SequenceNode) else [
        part for pair in node.value for part in pair
    ]  # fmt: skip
    total = 1
    for child in children:
        total += _expanded_size(child, sizes, open_, limit, where)
        if total > limit:
            break
    open_.discard(key)
    sizes[key] = total
    return total
