"""YAML a user receives: plain data, bounded expansion, clear messages naming the file."""

from __future__ import annotations

import time

import pytest

from torchgan_lstm._validation import InputError
from torchgan_lstm.app.safe_yaml import MAX_CONFIG_BYTES, load_yaml, read_yaml_file


def alias_bomb(levels: int = 9, fan_out: int = 9) -> str:
    """A few hundred bytes of nested anchors standing for ``fan_out ** levels`` values."""
    lines = [f"l0: &l0 [{', '.join(['x'] * fan_out)}]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * fan_out)}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    assert path.stat().st_size < 500
    start = time.process_time()
    with pytest.raises(InputError, match=r"bomb\.yaml' expands to more than 100,000 values"):
        read_yaml_file(path)
    assert time.process_time() - start < 5, "refused without expanding (seconds, not minutes)"


def test_shared_anchors_within_the_bound_load_as_plain_data():
    assert load_yaml("a: &x {b: 1}\nc: *x\n", "doc") == {"a": {"b": 1}, "c": {"b": 1}}


def test_a_recursive_alias_is_refused():
    with pytest.raises(InputError, match="doc holds a recursive YAML alias"):
        load_yaml("a: &a [1, *a]\n", "doc")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!!python/object/apply:os.system ['true']", "is not valid YAML"),
        ("a: [1\n", "is not valid YAML"),
        ("a: 1\n---\nb: 2\n", "is not valid YAML"),
    ],
)
def test_code_tags_broken_and_multi_document_yaml_are_refused(text, message):
    with pytest.raises(InputError, match=message):
        load_yaml(text, "doc")


def test_file_problems_name_the_file(tmp_path):
    with pytest.raises(InputError, match=r"config file '.*missing.yaml' does not exist"):
        read_yaml_file(tmp_path / "missing.yaml")
    with pytest.raises(InputError, match="is a folder, not a file"):
        read_yaml_file(tmp_path)
    (tmp_path / "latin1.yaml").write_bytes("a: caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.yaml' is not UTF-8 text"):
        read_yaml_file(tmp_path / "latin1.yaml")
    (tmp_path / "big.yaml").write_text("#" * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(InputError, match="a config file may hold at most"):
        read_yaml_file(tmp_path / "big.yaml")
