"""Create tab: a prompt (or an edited spec) -> character, previews, turntable, VRM/STL; an
imported avatar's previews; what the parser understood of the prompt (chips and the prompt with
its ignored words marked, as HTML); spec errors in the user's words."""

from __future__ import annotations

import contextvars
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kyara.studio.handlers.common import (as_upload, file_key, import_avatar, on_gl_thread, remember_character,
                                          resolve_seed)
from kyara.studio.session import DEFAULT_MAX_UPLOAD_MB, Workspace, check_upload

CREATE_SIZE = (512, 512)  # create previews and conditions, pixels
TURNTABLE = (24, 512)  # frames, pixels
AVATAR_PREVIEW = (512, 640)  # an imported avatar's front/side/back, pixels (width, height)
# Create's stages as the progress bar shows them: (fraction done when the stage starts, its name)
STAGES = {"parse": 0.0, "build": 0.05, "render": 0.45, "export": 0.85}
# create_character's own steps (the label of the step just finished) -> (fraction done, stage: what runs next)
_AFTER = {"build": (0.45, "render: previews"), "render": (0.55, "render: conditions"),
          "conditions": (0.6, "render: turntable"), "turntable": (0.8, "render: sheet"),
          "sheet": (0.85, "export: VRM"), "vrm": (0.93, "export: STL"), "stl": (1.0, "done")}


@dataclass
class CreateOutput:
    spec_json: str
    character: Path  # character.json
    views: list[Path]  # front, side, back PNGs
    turntable: Path
    vrm: Path
    stl: Path
    seed: int  # the seed the character was drawn with (a drawn one for -1), also in character.json


def create(ws: Workspace, prompt: str | None = None, seed: int = 0, spec_json: str | None = None,
           progress: Callable[[float, str], None] | None = None) -> CreateOutput:
    """``kyara create`` for the page: a prompt (or an edited spec JSON) -> previews and avatar files.
    ``seed`` -1 draws a random seed (:func:`~kyara.studio.handlers.common.resolve_seed`); the one used
    is ``CreateOutput.seed`` and the spec's ``seed``. An edited spec keeps its own seed; its errors
    are said in the user's words (:func:`spec_error_words`). ``progress(fraction 0..1, stage)`` is
    called as the stages of :data:`STAGES` (parse, build, render, export) go by."""
    from kyara.character.create import VIEWS, create_character

    report = progress or (lambda _f, _s: None)
    report(STAGES["parse"], "parse")
    if spec_json is not None:
        from kyara.character.spec import from_json

        try:
            spec = from_json(spec_json)
        except ValueError as exc:
            raise ValueError(spec_error_words(str(exc))) from None
    else:
        from kyara.character.parser import parse_prompt

        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("prompt is empty, expected a character description such as 'an anime girl in a kimono'")
        spec = parse_prompt(prompt, seed=resolve_seed(seed))
    out = ws.job_dir("create")
    frames, tsize = TURNTABLE
    from kyara.character.build import build_character

    report(STAGES["build"], "build")
    character = build_character(spec)
    report(STAGES["render"], "render")

    def step(label: str) -> None:
        if label in _AFTER:
            report(*_AFTER[label])
    # the rendering thread reports into this request's progress bar: it runs in a copy of this context
    on_gl_thread(contextvars.copy_context().run, create_character, spec, out, None, CREATE_SIZE,
                 turntable_frames=frames, turntable_size=tsize, character=character, progress=step)
    # the Pose, Animate and Export tabs load this character.json next: hand them the built one
    remember_character(file_key(out / "character.json"), character)
    return CreateOutput(spec.to_json(), out / "character.json", [out / f"{v}.png" for v in VIEWS],
                        out / "turntable.gif", out / "avatar.vrm", out / "avatar_print.stl", spec.seed)


def avatar_previews(ws: Workspace, path: str | os.PathLike | None,
                    max_mb: float = DEFAULT_MAX_UPLOAD_MB) -> tuple[Path, list[Path]]:
    """Create tab: import an uploaded avatar (``.vrm``/``.glb``/``character.json``, checked by
    :func:`~kyara.studio.session.check_upload`) and render front/side/back cel-shaded previews of
    it in its rest pose. Returns (imported file, PNGs)."""
    src = check_upload(path, "avatar", max_mb)
    try:
        dst = import_avatar(ws, src)
        with as_upload(src.name, dst):
            return dst, on_gl_thread(_avatar_views, dst)
    except ValueError as exc:
        raise ValueError(spec_error_words(str(exc), src.name)) from None


def _avatar_views(dst: Path) -> list[Path]:
    from PIL import Image

    from kyara.avatar import avatar_pose, character_body, load_character
    from kyara.render.pipeline import RenderConfig, frame_views, render_views

    body = character_body(load_character(dst))
    pose = avatar_pose("stand", body)
    verts, _ = body.pose(pose)
    views = frame_views(verts, ["front", "side", "back"], AVATAR_PREVIEW)
    out = render_views(body, pose, views, RenderConfig(maps=("toon",)), vertices=verts, check_cameras=False)
    paths = []
    for v, img in zip(("front", "side", "back"), out.maps["toon"]):
        p = dst.parent / f"{v}.png"
        Image.fromarray(img).save(p)
        paths.append(p)
    return paths



# -- spec errors in the user's words --------------------------------------------------------------
_FIELD_WORDS = {
    "version": "version number", "prompt": "prompt", "seed": "seed", "body": "body", "body.preset": "body type",
    "body.heads_tall": "height in heads", "body.height": "body height", "hair": "hair", "hair.colour": "hair colour",
    "hair.length": "hair length", "hair.style": "hair style", "hair.bangs": "bangs", "hair.tips": "colour of the hair tips",
    "hair.texture": "hair texture", "hair.ahoge": "ahoge", "eye_colour": "eye colour", "skin_tone": "skin tone",
    "outfit": "outfit", "accessories": "accessories", "expression": "expression", "pose_hint": "pose",
    "unparsed": "list of ignored words", "notes": "notes",
}
_ITEM_WORDS = {"kind": "kind", "colour": "colour", "trim": "trim colour", "number": "jersey number", "obi": "obi colour",
               "name": "colour name", "hex": "colour code"}
_PATH_RE = re.compile(r"^((?:[a-z_]+)(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*): (.+)$")
_ORDINAL = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _field_words(path: str) -> str:
    m = re.fullmatch(r"(outfit|accessories)\[(\d+)\](?:\.(\w+))?(?:\.(\w+))?", path)
    if m:
        i = int(m.group(2))
        nth = _ORDINAL[i] if i < len(_ORDINAL) else f"number {i + 1}"
        what = "outfit piece" if m.group(1) == "outfit" else "accessory"
        tail = " ".join(_ITEM_WORDS.get(g, g.replace("_", " ")) for g in m.groups()[2:] if g)
        return f"{nth} {what}" + (f"'s {tail}" if tail else "")
    if path in _FIELD_WORDS:
        return _FIELD_WORDS[path]
    head, _, rest = path.rpartition(".")
    if head in _FIELD_WORDS:
        return f"{_FIELD_WORDS[head]}'s {_ITEM_WORDS.get(rest, rest.replace('_', ' '))}"
    return path.replace("_", " ").replace(".", " ")


def spec_error_words(text: str, filename: str | None = None) -> str:
    """A character spec's validation message in the user's words, without its internal field names:
    ``"version: missing field"`` -> ``"the spec has no version number"``; ``filename`` (the user's
    own file) is kept in front when the message starts with it. Other messages are returned as
    they are."""
    prefix = ""
    if filename and text.startswith(f"{filename}: "):
        prefix, text = f"{filename}: ", text[len(filename) + 2:]
    if text.startswith("character spec is not valid JSON: "):
        return prefix + "the spec is not valid JSON: " + text.split(": ", 1)[1][:1].lower() + text.split(": ", 1)[1][1:]
    if text.startswith("character spec: "):
        rest = re.sub(r"^expected (.+), got (.+)$", r"should be \1, not \2", text[len("character spec: "):])
        return prefix + "the spec " + rest
    m = _PATH_RE.match(text)
    if m is None:
        return prefix + text
    path, msg = m.groups()
    what = _field_words(path)
    if msg == "missing field":
        return f"{prefix}the spec has no {what}"
    if msg.startswith("unknown field"):
        return f"{prefix}the spec has a setting kyara does not know ('{path.rsplit('.', 1)[-1]}'); remove it"
    e = re.fullmatch(r"expected (.+), got (.+)", msg)
    if e:
        return f"{prefix}the {what} should be {e.group(1)}, not {e.group(2)}"
    return f"{prefix}the {what}: {msg}"


# -- what the parser understood, as the page shows it ----------------------------------------------
_CHIP_COLOURS = {"character": "#ffe0b2", "body": "#f8bbd0", "hair": "#e1bee7", "eyes": "#bbdefb", "skin": "#ffccbc",
                 "outfit": "#c8e6c9", "accessory": "#b2ebf2", "expression": "#fff9c4", "pose": "#d7ccc8",
                 "colour": "#f0f4c3", "picture": "#e0e0e0"}


def understanding_html(prompt: str | None) -> str:
    """The Create tab's reading of ``prompt`` (:func:`kyara.character.understand`) as HTML: the
    understood attributes as chips (``span.kyara-chip``, ``data-category``), the prompt with its
    ignored words marked (``mark.kyara-ignored``) and, when most of it was not understood, a warning
    (``div.kyara-warning``). Every piece of the prompt is escaped. Parsing only: milliseconds."""
    from kyara.character.reading import understand
    from kyara.studio.handlers.common import escape_html

    if not isinstance(prompt, str) or not prompt.strip():
        return '<div class="kyara-understanding"><em>type a description: the words kyara understands show here</em></div>'
    try:
        u = understand(prompt)
    except ValueError as exc:
        return f'<div class="kyara-understanding"><div class="kyara-warning">{escape_html(str(exc))}</div></div>'
    chips = "".join(
        f'<span class="kyara-chip" data-category="{a.category}" title="{a.category}" style="display:inline-block;'
        f'margin:2px 4px 2px 0;padding:1px 8px;border-radius:10px;background:{_CHIP_COLOURS.get(a.category, "#eee")};'
        f'color:#222;font-size:0.9em"><b style="font-weight:600">{a.category}</b> {escape_html(a.label)}</span>'
        for a in u.attributes) or "<em>nothing understood yet</em>"
    marked, at = [], 0
    for word, (a, b) in u.ignored:
        marked.append(escape_html(prompt[at:a]))
        marked.append(f'<mark class="kyara-ignored" title="not understood: ignored" style="background:#ffcdd2;'
                      f'color:#b71c1c;text-decoration:line-through;border-radius:3px;padding:0 2px">'
                      f'{escape_html(prompt[a:b])}</mark>')
        at = b
    marked.append(escape_html(prompt[at:]))
    ignored = (f'<div class="kyara-marked" style="margin-top:4px;white-space:pre-wrap"><span style="opacity:0.7">'
               f'ignored words are marked: </span>{"".join(marked)}</div>') if u.ignored else \
        '<div class="kyara-marked" style="margin-top:4px;opacity:0.7">every word was understood</div>'
    warning = ""
    if u.mostly_not_understood:
        warning = (f'<div class="kyara-warning" role="alert" style="margin-top:4px;padding:4px 8px;border-radius:4px;'
                   f'background:#fff3e0;color:#e65100">\u26a0 most of this prompt was not understood '
                   f'({u.understood_words} of {u.content_words} words): the character will be mostly random. '
                   f'Try words such as "long pink hair", "blue eyes", "maid", "kimono", "twin tails".</div>')
    return (f'<div class="kyara-understanding" data-understood="{u.understood_words}" data-words="{u.content_words}">'
            f'<div class="kyara-chips">{chips}</div>{ignored}{warning}</div>')
