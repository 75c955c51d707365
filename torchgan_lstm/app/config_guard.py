"""Configuration from files a user may have received is data: it names registered models, it
never makes Python import a module.

jsonargparse resolves a ``class_path`` by importing the module it names, and it would do so for
a ``--config`` file, a run folder's ``config.yaml`` read by ``--resume``, a value on the command
line or a YAML value inside any of them. Before jsonargparse sees any of it:

- :func:`check_argv` resolves every class path on the command line and in the config files it
  names against the registry (:func:`torchgan_lstm.registry.find_class`, which imports nothing)
  and refuses anything else with an :class:`~torchgan_lstm._validation.InputError` naming the
  value and the registered models;
- :func:`guarded_parsing` routes every YAML value jsonargparse loads through the same check with
  a bound on alias expansion (:mod:`~torchgan_lstm.app.safe_yaml`), and refuses, for as long as
  it parses, the import of any module outside the packages it needs.

A model of the user's own is registered in Python (``@torchgan_lstm.register_model()``) or its
module is named in the environment variable ``TORCHGAN_LSTM_IMPORT`` (the user's decision,
never a file's): :func:`import_user_modules` imports those before parsing.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import os
import sys
import sysconfig
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jsonargparse
import yaml

from .. import registry
from .._validation import InputError
from .safe_yaml import MAX_YAML_VALUES, check_expansion, load_yaml, read_yaml_file

__all__ = [
    "IMPORT_VARIABLE",
    "LOADER_MODE",
    "check_argv",
    "check_document",
    "guarded_parsing",
    "import_user_modules",
]

IMPORT_VARIABLE = "TORCHGAN_LSTM_IMPORT"
LOADER_MODE = "torchgan_lstm_yaml"
ROLES = ("generator", "discriminator")
# Options whose value jsonargparse reads as a class (a path, a mapping or a config file).
_CLASS_OPTIONS = {f"--{r}{s}" for r in ROLES for s in ("", ".class_path", ".help")}
# Packages that parsing may import from: jsonargparse, what it reads with, and the installed
# packages the models live in. Everything else must already be imported.
# jsonargparse probes for its optional integrations (attrs, pydantic, ...) while it parses:
# installed libraries it asks for by its own choice, not modules a configuration names.
_TRUSTED = {
    "jsonargparse", "docstring_parser", "typeshed_client", "typing_extensions", "yaml",
    "argcomplete", "importlib_metadata", "torch", "torchvision", "torchgan", "torchgan_lstm",
    "numpy", "attr", "attrs", "pydantic", "pydantic_core", "annotated_types",
    "typing_inspection", "omegaconf", "ruyaml", "jsonnet", "_jsonnet", "jsonschema",
    "reconplogger", "shtab", "fsspec", "requests", "validators",
}  # fmt: skip
# Standard-library modules whose import does something beyond defining names.
_STDLIB_WITH_EFFECTS = {
    "antigravity", "this", "__hello__", "__phello__", "turtle", "turtledemo", "tkinter",
    "idlelib",
}  # fmt: skip


def check_class_path(value: Any, where: str) -> type:
    """The registered class ``value`` names; nothing is imported.

    Raises:
        InputError: ``value`` names no registered model; the message names ``where``, the value
            and the registered models.
    """
    try:
        return registry.find_class(value)
    except InputError as err:
        raise InputError(f"{where}: {err}") from None


def check_document(data: Any, where: str) -> None:
    """Check every class a configuration document names, at any depth.

    A mapping's ``class_path`` must name a registered model; so must a ``generator`` or
    ``discriminator`` given as a string, unless it is a config file (jsonargparse then reads
    that file through the same check).

    Raises:
        InputError: a class path names no registered model.
    """
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        if "class_path" in item:
            check_class_path(item["class_path"], where)
        for role in ROLES:
            value = item.get(role)
            if isinstance(value, str) and not Path(value).is_file():
                check_class_path(value, f"{where}: {role}")
        stack.extend(item.values())


def check_argv(argv: Sequence[str]) -> None:
    """Check the class paths of a ``train`` command line and of the config files it names.

    Raises:
        InputError: a class path names no registered model, or a config file is missing,
            unreadable, too large, not bounded YAML or not a mapping of settings (the message
            names the option and file).
    """
    for option, value in _option_values(argv):
        if option == "--config":
            data = _document(value, option)
            where = f"--config {value!r}"
            if data is not None and not isinstance(data, dict):
                raise InputError(
                    f"{where} must hold a mapping of settings (key: value lines), got "
                    f"{type(data).__name__}"
                )
            if isinstance(data, dict) and "config" in data:
                raise InputError(f"{where}: 'config' is not a setting; a config file cannot "
                                 f"name another one")  # fmt: skip
            check_document(data, where)
        elif option in _CLASS_OPTIONS:
            data = _document(value, option)
            if isinstance(data, dict):
                check_document(data, option)
            else:
                check_class_path(value, option)


def _option_values(argv: Sequence[str]) -> Iterator[tuple[str, str]]:
    for i, arg in enumerate(argv):
        if not arg.startswith("--"):
            continue
        option, equals, value = arg.partition("=")
        if not equals:
            if i + 1 >= len(argv):
                continue
            value = argv[i + 1]
        yield option, value


def _document(value: str, option: str) -> Any:
    # A config file, or the value itself as YAML (a mapping, a class path, a number...).
    if Path(value).is_file():
        return read_yaml_file(value, f"{option} file")
    try:
        return load_yaml(value, option)
    except InputError:
        return value  # not YAML: jsonargparse reports what it expected


def import_user_modules() -> list[str]:
    """Import the modules named in ``TORCHGAN_LSTM_IMPORT`` (comma separated), so the models
    they register can be named in configurations; return their names.

    Raises:
        InputError: a named module cannot be imported; the message names it and the variable.
    """
    names = [n.strip() for n in os.environ.get(IMPORT_VARIABLE, "").split(",") if n.strip()]
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise InputError(f"{IMPORT_VARIABLE} names module {name!r}, which cannot be "
                             f"imported: {err}") from None  # fmt: skip
    return names


_REFUSED = "while reading a configuration is refused"


class _ImportRefused(ImportError):
    pass


class _RefuseNewImports(importlib.abc.MetaPathFinder):
    """A finder placed first on ``sys.meta_path`` that refuses modules outside the trusted
    packages and the standard library; it records what it refused."""

    def __init__(self) -> None:
        self.refused: list[str] = []
        paths = sysconfig.get_paths()
        self._stdlib = tuple(str(Path(paths[k]).resolve()) for k in ("stdlib", "platstdlib"))

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in _TRUSTED or self._is_plain_stdlib(fullname, top):
            return None  # the other finders decide
        self.refused.append(fullname)
        raise _ImportRefused(f"importing {fullname!r} {_REFUSED}")

    def _is_plain_stdlib(self, fullname: str, top: str) -> bool:
        if top not in sys.stdlib_module_names or top in _STDLIB_WITH_EFFECTS:
            return False
        for finder in sys.meta_path:  # where the module would come from: not a shadowing file
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, None)
            if spec is not None:
                origin = spec.origin or ""
                built_in = origin in ("built-in", "frozen") or not os.path.isabs(origin)
                return built_in or str(Path(origin).resolve()).startswith(self._stdlib)
        return True  # not found anywhere: the import fails by itself


def _guarded_yaml_load(value: str) -> Any:
    check_expansion(value, "a YAML value", MAX_YAML_VALUES)
    data = _JSONARGPARSE_YAML(value)
    check_document(data, "configuration")
    return data


_JSONARGPARSE_YAML = jsonargparse.get_loader("yaml")
jsonargparse.set_loader(LOADER_MODE, _guarded_yaml_load, exceptions=(yaml.YAMLError,))


@contextlib.contextmanager
def guarded_parsing() -> Iterator[None]:
    """While parsing: no module outside jsonargparse's and the models' packages is imported.

    Raises:
        InputError: parsing failed after an import was refused (a class path that the checks
            before parsing did not see); the message names the module.
    """
    finder = _RefuseNewImports()
    sys.meta_path.insert(0, finder)
    try:
        yield
    except Exception as err:
        if finder.refused and _caused_by_refusal(err):
            raise _refusal(finder.refused) from None
        raise
    finally:
        sys.meta_path.remove(finder)
    # A refused import that parsing survived (an optional module it probes for) ran nothing.


def _caused_by_refusal(err: BaseException) -> bool:
    """Whether ``err`` is jsonargparse's account of a refused import (it keeps the refusal as
    the cause, or quotes its text), not a later, unrelated error."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, _ImportRefused) or _REFUSED in str(err):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


def _refusal(modules: list[str]) -> InputError:
    return InputError(
        f"the configuration names module {modules[0]!r}; a configuration may only name "
        f"registered models ({registry.registered_names()}): register a model of your own "
        f"with @torchgan_lstm.register_model() or name its module in {IMPORT_VARIABLE}"
    )
