"""The shared YAML reader for users' mapping and job files, and the bounded repr for error lines."""

from __future__ import annotations

import time

import pytest

from kyara.fileio import brief, load_yaml


def _laughs(levels: int) -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    names = "abcdefghijk"[:levels]
    lines += [f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]" for prev, cur in zip(names, names[1:])]
    return "\n".join(lines) + "\n"


def test_alias_bomb_loads_as_shared_references_and_prints_short(tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text(_laughs(10))  # 9**10 strings if expanded
    t0 = time.perf_counter()
    data = load_yaml(p, "mapping")
    text = brief(data["j"])
    assert time.perf_counter() - t0 < 1.0
    assert len(text) <= 60 and text.startswith("[[")
    assert data["j"][0] is data["j"][1]  # the aliases are one object, not copies


@pytest.mark.parametrize("body,needle", [
    ("[" * 200 + "]" * 200, "nested more than 32"),
    ("a: [1, 2\n", "not valid YAML"),
    ("!!python/object/apply:os.system ['true']\n", "not valid YAML"),
])
def test_bad_yaml_is_one_value_error(tmp_path, body, needle):
    p = tmp_path / "x.yaml"
    p.write_text(body)
    with pytest.raises(ValueError, match=needle) as e:
        load_yaml(p, "mapping")
    assert "\n" not in str(e.value) and len(str(e.value)) < 300


def test_size_encoding_and_bom(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_bytes(b"\xef\xbb\xbfhips: hips\n")
    assert load_yaml(p) == {"hips": "hips"}
    p.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        load_yaml(p)
    p.write_bytes(b"#" * 2000)
    with pytest.raises(ValueError, match="at most 1000"):
        load_yaml(p, max_bytes=1000)
    with pytest.raises(FileNotFoundError):
        load_yaml(tmp_path / "missing.yaml")
