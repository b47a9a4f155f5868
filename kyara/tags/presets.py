"""The editable presets of the tag writer: model families, style presets, scene words.

They ship as ``kyara/data/tags.yaml``; a user's file of the same layout (``--tag-presets FILE``)
adds entries and replaces shipped ones of the same name. Both are checked the same way: every
problem is one ``ValueError`` naming the file and the field (``styles.cel.tags[2]``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

SHIPPED = "tags.yaml"  # in kyara/data
SECTIONS = ("families", "styles", "scenes")
POSITIONS = ("start", "end")
MAX_TAG_CHARS = 100
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.+-]{0,39}$")


@dataclass(frozen=True)
class Family:
    """A model family: the quality tags its checkpoints expect and its usual negative prompt."""

    name: str
    quality: tuple[str, ...]
    negative: tuple[str, ...]
    position: str = "start"  # where the quality tags go: "start" or "end"
    description: str = ""


@dataclass(frozen=True)
class Style:
    """A look: tags added after the character's, and negative tags added to the family's."""

    name: str
    title: str
    tags: tuple[str, ...]
    negative: tuple[str, ...] = ()


@dataclass(frozen=True)
class Presets:
    families: dict[str, Family]
    styles: dict[str, Style]
    scenes: dict[str, tuple[str, ...]]  # word or phrase (lower case) -> tags

    def family(self, name: str) -> Family:
        if name not in self.families:
            raise ValueError(f"tag family '{name}' is unknown, expected one of {', '.join(sorted(self.families))}")
        return self.families[name]

    def style(self, name: str) -> Style:
        key = str(name).strip().lower()
        if key in self.styles:
            return self.styles[key]
        for s in self.styles.values():  # the look's own name works too ("clean cel-shaded TV anime")
            if s.title.lower() == key:
                return s
        raise ValueError(f"style '{name}' is unknown, expected one of {', '.join(sorted(self.styles))}")


def _tags(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list of tags, got {type(value).__name__}")
    out = []
    for i, t in enumerate(value):
        if isinstance(t, bool) or not isinstance(t, (str, int, float)):
            raise ValueError(f"{where}[{i}]: expected a tag (text), got {type(t).__name__}")
        text = " ".join(str(t).split())
        if not text or len(text) > MAX_TAG_CHARS or "," in text:
            raise ValueError(f"{where}[{i}]: expected a tag of 1..{MAX_TAG_CHARS} characters without commas")
        out.append(text)
    return tuple(out)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected text, got {type(value).__name__}")
    return " ".join(value.split())


def _check_keys(entry: object, where: str, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(entry).__name__}")
    unknown = sorted(str(k) for k in entry if k not in allowed)
    if unknown:
        raise ValueError(f"{where}: unknown field '{unknown[0]}', expected {', '.join(allowed)}")
    missing = [k for k in required if k not in entry]
    if missing:
        raise ValueError(f"{where}: missing field '{missing[0]}'")
    return entry


def parse_presets(data: object, label: str) -> Presets:
    """Check one presets document (the YAML's content); ``label`` names it in errors."""
    if not isinstance(data, dict):
        raise ValueError(f"tag presets '{label}': expected a mapping with {', '.join(SECTIONS)}, "
                         f"got {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in (*SECTIONS, "version"))
    if unknown:
        raise ValueError(f"tag presets '{label}': unknown section '{unknown[0]}', expected {', '.join(SECTIONS)}")
    if data.get("version", 1) != 1:
        raise ValueError(f"tag presets '{label}': version {data.get('version')!r} is not supported, expected 1")
    sections = {}
    for sec in SECTIONS:
        value = data.get(sec) or {}
        if not isinstance(value, dict):
            raise ValueError(f"tag presets '{label}': {sec}: expected a mapping, got {type(value).__name__}")
        for name in value:
            if not isinstance(name, str) or (sec != "scenes" and not _NAME_RE.match(name)):
                raise ValueError(f"tag presets '{label}': {sec}: name {str(name)[:40]!r} is not valid, expected "
                                 "lower-case letters, digits, '-', '_' (at most 40)")
        sections[sec] = value
    try:
        families = {}
        for name, e in sections["families"].items():
            w = f"families.{name}"
            e = _check_keys(e, w, ("quality", "negative", "position", "description"), ("quality", "negative"))
            pos = e.get("position", "start")
            if pos not in POSITIONS:
                raise ValueError(f"{w}.position: expected start or end, got {str(pos)[:40]!r}")
            families[name] = Family(name, _tags(e["quality"], f"{w}.quality"), _tags(e["negative"], f"{w}.negative"),
                                    pos, _text(e.get("description", ""), f"{w}.description"))
        styles = {}
        for name, e in sections["styles"].items():
            w = f"styles.{name}"
            e = _check_keys(e, w, ("name", "tags", "negative"), ("tags",))
            styles[name] = Style(name, _text(e.get("name", name), f"{w}.name"), _tags(e["tags"], f"{w}.tags"),
                                 _tags(e.get("negative", []), f"{w}.negative"))
        scenes = {}
        for word, tags in sections["scenes"].items():
            key = " ".join(word.lower().split())
            if not key or len(key) > MAX_TAG_CHARS:
                raise ValueError(f"scenes: word {word[:40]!r} is not valid, expected 1..{MAX_TAG_CHARS} characters")
            scenes[key] = _tags(tags, f"scenes.{key}")
    except ValueError as exc:
        raise ValueError(f"tag presets '{label}': {exc}") from None
    return Presets(families, styles, scenes)


def merge(base: Presets, extra: Presets) -> Presets:
    """``base`` with ``extra``'s entries added; an entry of the same name is replaced."""
    return Presets({**base.families, **extra.families}, {**base.styles, **extra.styles},
                   {**base.scenes, **extra.scenes})


def shipped_presets() -> Presets:
    """The presets in ``kyara/data/tags.yaml``."""
    import yaml

    text = resources.files("kyara").joinpath("data", SHIPPED).read_text(encoding="utf-8")
    return parse_presets(yaml.safe_load(text), f"kyara/data/{SHIPPED}")


def load_presets(path: str | os.PathLike | None = None) -> Presets:
    """The shipped presets, extended by the user's YAML file ``path`` when given (checked with
    :func:`kyara.fileio.load_yaml`: size, depth, UTF-8, safe loader)."""
    base = shipped_presets()
    if path is None or str(path) == "":
        return base
    from kyara.fileio import load_yaml

    p = Path(path)
    if p.is_dir():
        raise ValueError(f"--tag-presets '{p}' is a folder, expected a YAML file")
    data = load_yaml(p, "--tag-presets")
    return merge(base, parse_presets(data, str(p)))
