"""CharacterSpec -> Character: the body in the spec's proportions, dressed and styled.

Each feature module returns parts whose ``joint_indices`` index into ``BONES + its own extra
bones`` (in the order it returns them); this module concatenates the extra bones of all modules
and renumbers, so modules never need to know about each other.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

from kyara.body.model import build_body
from kyara.body.skeleton import NUM_BONES
from kyara.character.model import Character, ExtraBone, Material, Part, hex_to_rgb


def _renumber(parts: list[Part], first_extra: int) -> list[Part]:
    """Shift extra-bone indices (>= 55) of ``parts`` so they start at ``first_extra``."""
    if first_extra == NUM_BONES:
        return parts
    for p in parts:
        ji = p.joint_indices.copy()
        ji[ji >= NUM_BONES] += first_extra - NUM_BONES
        p.joint_indices = ji
    return parts


def body_part(body, spec) -> Part:
    skin = hex_to_rgb(spec.skin_tone.hex)
    return Part("body", "body", body.vertices, body.faces, body.joint_indices, body.joint_weights,
                Material("skin", skin, shade_color=None, outline_width=0.0012))


def _feature_builders():
    """(module name, function name) of each feature, imported lazily so a missing one fails loudly."""
    return (
        ("kyara.character.face", "build_face"),
        ("kyara.character.hair", "build_hair"),
        ("kyara.character.garments", "build_garments"),
        ("kyara.character.accessories", "build_accessories"),
    )


BUILD_QUALITIES = ("default", "dataset")


@dataclass(frozen=True)
class BuildOptions:
    """How finely a character is meshed.

    ``quality="default"``: the full-resolution character of ``kyara create`` (body grid about
    height / 520, 30,000 body faces, garments at height / 280, up to 9,000 faces per part).
    ``quality="dataset"``: a coarser mesh for small renders (``kyara dataset`` at 128 px): the body
    grid at height / ``body_voxel_div`` (260: fingers still resolved, so hand keypoints lie on the
    rendered hands as with the full-quality body; coarser grids lose them), decimated to 10,000
    faces (a finger whose two sides the decimation pinched onto one edge is split there, not
    rebuilt), garments on a lattice 1.4x coarser (height / 200) decimated in one pass to up to
    3,000 faces per part, jersey digits at 3.5 mm, no fold ridges (sub-pixel at 128 px);
    silhouettes move by under half a pixel on average at 128 px and the build takes about a
    quarter of the time (tests/test_dataset.py, benchmarks/dataset.py). Hair, face and
    accessories are built as by default.
    """

    quality: str = "default"  # BUILD_QUALITIES
    body_voxel_div: float = 260.0  # dataset quality: body grid spacing = height / this

    def __post_init__(self) -> None:
        if self.quality not in BUILD_QUALITIES:
            raise ValueError(f"build quality '{self.quality}' is unknown, expected one of {', '.join(BUILD_QUALITIES)}")
        if not 60.0 <= float(self.body_voxel_div) <= 520.0:
            raise ValueError(f"body_voxel_div={self.body_voxel_div} is out of range, expected 60..520")


def _dataset_body(params, div: float):
    """The coarse body of dataset quality. Decimating the coarse grid often pinches a thin finger's
    two sides onto one edge: the pinch is split (``repair``), which leaves every triangle where it
    was; a decimation that cannot be kept closed that way is retried on a slightly finer grid
    (deterministic: the same params give the same body)."""
    height = float(params.height)
    for k in range(4):
        try:
            return build_body(params, 10000, voxel=min(0.05, max(0.002, height / (div * 1.12 ** k))), repair=True)
        except RuntimeError:
            continue
    return build_body(params)


def _garment_config(options: BuildOptions):
    if options.quality == "default":
        return None
    from kyara.character.garments import GarmentConfig

    # a lattice 1.4x coarser than the default one: cloth thickens to 1.6 voxels on coarse lattices,
    # so coarser still would move silhouettes by more than half a pixel at 128 px
    # fold ridges (a few mm wide) are below a pixel at 128 px: left out
    # one decimation pass per part, straight to the 3,000 faces (a pinched rim split, not retried)
    return GarmentConfig(voxel_per_height=1.0 / 200.0, voxel_min=0.0045, voxel_max=0.008, fine_voxel=0.0035,
                         target_faces=3000, folds=False, quick_decimation=True)


def build_character(spec, options: BuildOptions | None = None,
                    timings: dict[str, float] | None = None) -> Character:
    """Build the rigged, dressed character for a :class:`~kyara.character.spec.CharacterSpec`
    (``options``: :class:`BuildOptions`, default full quality). ``timings``: when given, the CPU
    seconds of each step are added to it (``body``, ``face``, ``hair``, ``garments``,
    ``accessories``)."""
    import importlib

    opts = options or BuildOptions()
    if not isinstance(opts, BuildOptions):
        raise ValueError(f"options is a {type(opts).__name__}, expected kyara.character.build.BuildOptions")
    spent = {} if timings is None else timings
    t = time.process_time()
    params = spec.body.params()
    body = build_body(params) if opts.quality == "default" else _dataset_body(params, opts.body_voxel_div)
    spent["body"] = spent.get("body", 0.0) + time.process_time() - t
    garment_cfg = _garment_config(opts)
    parts: list[Part] = [body_part(body, spec)]
    extra: list[ExtraBone] = []
    for module_name, fn_name in _feature_builders():
        t = time.process_time()
        fn = getattr(importlib.import_module(module_name), fn_name)
        if fn_name == "build_garments" and garment_cfg is not None:
            new_parts, new_bones = fn(spec, body, garment_cfg)
        else:
            new_parts, new_bones = fn(spec, body)
        parts += _renumber(list(new_parts), NUM_BONES + len(extra))
        extra += list(new_bones)
        step = fn_name.removeprefix("build_")
        spent[step] = spent.get(step, 0.0) + time.process_time() - t
    return Character(spec=spec, body=body, parts=parts, extra_bones=extra)


@functools.lru_cache(maxsize=8)
def build_character_cached(spec_json: str) -> Character:
    from kyara.character.spec import from_json

    return build_character(from_json(spec_json))
