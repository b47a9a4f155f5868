"""``kyara export``: a character (spec file or prompt) as GLB, VRM 1.0/0.x, VRMA, STL, OBJ or PLY."""

from __future__ import annotations

from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_cmd(
        spec: Optional[str] = typer.Argument(None, help="character.json (from `kyara spec` or `kyara create`), "
                                             "or your own avatar: .vrm, .glb, .gltf"),
        character: Optional[str] = typer.Option(None, "--character",
                                                help="the same as the positional file: character.json or a "
                                                     ".vrm/.glb/.gltf avatar (as in render, animate, image)"),
        prompt: Optional[str] = typer.Option(None, "--prompt", help="character description instead of a spec file"),
        seed: int = typer.Option(0, "--seed", help="seed for attributes the prompt leaves open"),
        fmt: str = typer.Option(..., "--format", "-f", help="glb, vrm, vrm0, vrma, stl, obj or ply"),
        pose: Optional[str] = typer.Option(None, "--pose", help="named pose for stl/obj/ply (default: T-pose)"),
        motion: Optional[str] = typer.Option(None, "--motion", help="motion for glb/vrma: walk, jog, ..., a .bvh or .npz"),
        fps: Optional[float] = typer.Option(None, "--fps", help="resample the motion to this frame rate"),
        up: str = typer.Option("auto", "--up", help="the motion BVH file's up axis: auto (detected), y or z"),
        mapping: Optional[str] = typer.Option(None, "--mapping",
                                              help="YAML {source joint: vrmBone} for motion rigs the name tables miss"),
        height_mm: float = typer.Option(150.0, "--height-mm", help="stl: figure height along Z, base and hat included"),
        base: bool = typer.Option(True, "--base/--no-base", help="stl: round base under the feet"),
        min_wall_mm: float = typer.Option(1.2, "--min-wall-mm", help="stl: thinner walls are thickened to this"),
        name: str = typer.Option("kyara avatar", "--name", help="vrm: avatar name"),
        author: Optional[List[str]] = typer.Option(None, "--author", help="vrm: author (repeatable)"),
        license: Optional[List[str]] = typer.Option(None, "--license",
                                                    help="vrm: licence field key=value (repeatable), e.g. commercialUsage=personalProfit"),
        output: str = typer.Option(..., "-o", "--output", help="output file"),
        own: bool = typer.Option(False, "--i-own-this-avatar",
                                 help="convert an imported avatar whose VRM licence forbids it (you hold the rights)"),
    ) -> None:
        """Export a character: rigged GLB/VRM avatars, VRMA animations, a printable STL, OBJ or PLY."""
        from kyara.export import ExportOptions, PrintOptions, check_export_request, export_character, parse_license

        if spec is not None and character is not None:
            raise ValueError("give the character once: a positional file or --character FILE, not both")
        spec = spec if spec is not None else character
        if (spec is None) == (prompt is None):
            raise ValueError("give either --character FILE (character.json or an avatar) or --prompt TEXT, "
                             "not both or neither")
        if fps is not None and not (0 < fps <= 240):
            raise ValueError(f"--fps {fps} is out of range, expected 0 < fps <= 240")
        if pose is not None:
            from kyara.pose.presets import POSE_NAMES

            if pose not in POSE_NAMES:
                raise ValueError(f"unknown pose '{pose}', expected one of {', '.join(POSE_NAMES)}")
        authors = tuple(a.strip() for a in (author or ["kyara"]))
        if not all(authors):
            raise ValueError("--author is empty, expected a name")
        options = ExportOptions(name=name, authors=authors, license=parse_license(license), pose=pose,
                                motion=motion, fps=fps,
                                print=PrintOptions(height_mm=height_mm, base=base, min_wall_mm=min_wall_mm))
        check_export_request(fmt, output, options)  # before any slow work
        if motion is not None:
            from kyara.motion import BUILTIN_MOTIONS

            if motion not in BUILTIN_MOTIONS and not motion.lower().endswith((".bvh", ".npz")):
                raise ValueError(f"motion '{motion}' is not a built-in ({', '.join(BUILTIN_MOTIONS)}) nor a .bvh/.npz file")
            import dataclasses

            from kyara.motion import load_motion

            # read (and check) the motion before the character is built; the export retargets it
            options = dataclasses.replace(options, motion=load_motion(motion, up=up, mapping=mapping), motion_mapping=mapping)
        elif up != "auto" or mapping is not None:
            raise ValueError("--up and --mapping apply to --motion, expected a --motion too")
        if spec is not None and spec.lower().endswith((".vrm", ".glb", ".gltf")):
            import dataclasses

            from kyara.avatar import load_character
            from kyara.avatar.licence import check_conversion_allowed

            character = load_character(spec)
            meta = getattr(character.spec, "meta", None)
            check_conversion_allowed(meta, own=own, what=f"export to {fmt}")
            if meta is not None and meta.source != "none":
                # the avatar's own meta travels with it unless the user sets it explicitly
                from kyara.export.vrm import VrmLicense

                keep = {k: v for k, v in meta.fields.items() if k in {f.name for f in dataclasses.fields(VrmLicense)}}
                options = dataclasses.replace(
                    options,
                    name=meta.name or options.name if name == "kyara avatar" else name,
                    authors=tuple(meta.authors) or options.authors if author is None else options.authors,
                    license=VrmLicense(**keep) if license is None and keep else options.license,
                )
        elif spec is not None:
            from kyara.character.build import build_character
            from kyara.character.spec import load_spec

            character = build_character(load_spec(spec))
        else:
            from kyara.character.build import build_character
            from kyara.character.parser import parse_prompt

            character = build_character(parse_prompt(prompt, seed=seed))

        result = export_character(character, fmt, output, options)
        for w in result.warnings:
            typer.echo(f"note: {w}", err=True)
        typer.echo(f"wrote {result.path} ({result.format}, {result.bytes} bytes) in {result.seconds:.2f} s")
