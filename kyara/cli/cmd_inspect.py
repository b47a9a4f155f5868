"""``kyara inspect avatar.vrm``: what an avatar file holds, as kyara reads it.

Prints the format and version, humanoid bones mapped / interpolated / missing, meshes (vertices,
triangles, morph targets), expressions, spring chains and the VRM licence meta. A malformed file
ends as one ``error: ...`` line and exit code 2.

``kyara inspect motion.bvh`` prints what kyara reads in a motion file (units, up axis, rest pose,
joint mapping); ``--mapping-template`` prints a mapping YAML to start from instead.
"""

from __future__ import annotations

from typing import Optional

import typer


def inspect_lines(character) -> list[str]:
    """The report of an imported avatar (a Character from :func:`kyara.avatar.import_avatar`)."""
    from kyara.body.skeleton import BONES

    info = character.spec
    lines = [f"file: {info.path.name}", f"format: {info.format}"]
    if info.extensions.mapping_source:
        lines.append(f"bone names matched by: {info.extensions.mapping_source} table")
    lines.append(f"humanoid bones mapped: {len(info.bones_mapped)}/{len(BONES)}")
    lines.append("  mapped: " + ", ".join(info.bones_mapped))
    lines.append("  missing (interpolated, no weight): " + (", ".join(info.bones_interpolated) or "none"))
    lines.append(f"rest pose: {'re-posed into a T-pose' if info.reposed else 'T-pose'}")
    total_v = sum(len(p.vertices) for p in character.parts)
    total_f = sum(len(p.faces) for p in character.parts)
    lines.append(f"meshes: {len(character.parts)} ({total_v} vertices, {total_f} triangles)")
    for p in character.parts:
        morph = f", morph targets: {', '.join(p.morphs)}" if p.morphs else ""
        lines.append(f"  {p.name}: {len(p.vertices)} vertices, {len(p.faces)} triangles{morph}")
    exprs = info.expressions
    lines.append(f"expressions: {len(exprs)}" + (" (" + ", ".join(
        f"{k}[{len(v)}]" for k, v in exprs.items()) + ")" if exprs else ""))
    chains = info.extensions.springs
    lines.append(f"spring chains: {len(chains)}" + (" (" + ", ".join(
        f"{c.name}:{len(c.nodes)}" for c in chains) + ")" if chains else ""))
    lines.append(f"extra bones: {len(character.extra_bones)}")
    meta = info.meta
    if meta.source == "none":
        lines.append("licence meta: none (plain glTF)")
    else:
        lines.append(f"licence meta ({'VRM 1.0' if meta.source == 'vrm1' else 'VRM 0.x, shown with 1.0 names'}):")
        lines += [f"  {k}: {v}" for k, v in meta.summary()]
        lines.append(f"  conversion allowed without --i-own-this-avatar: {'yes' if meta.allows_conversion else 'no'}")
    lines += [f"note: {w}" for w in info.warnings]
    return lines


def register(app: typer.Typer) -> None:
    @app.command("inspect")
    def inspect_cmd(
        path: str = typer.Argument(..., help="avatar file: .vrm (1.0 or 0.x), .glb or .gltf; or a motion .bvh"),
        mapping: Optional[str] = typer.Option(None, "--mapping",
                                              help="YAML {node name: vrmBone} for plain glTF rigs and BVH motions"),
        mapping_template: bool = typer.Option(False, "--mapping-template",
                                              help="bvh: print a mapping YAML of the file's joints to start from"),
        up: str = typer.Option("auto", "--up", help="bvh: the file's up axis (auto, y, z, ...)"),
    ) -> None:
        """Print what an avatar file holds: format, bones, meshes, morphs, expressions, springs, licence."""
        if path.lower().endswith(".bvh"):
            from kyara.motion.inspect import bvh_report, mapping_template_for

            if mapping_template:
                typer.echo(mapping_template_for(path, mapping), nl=False)
            else:
                typer.echo("\n".join(bvh_report(path, mapping, up)))
            return
        if mapping_template or up != "auto":
            raise ValueError("--mapping-template and --up apply to .bvh motion files, expected a .bvh")
        from kyara.avatar import AVATAR_SUFFIXES, is_avatar_path
        from kyara.avatar.convert import ImportConfig, import_avatar

        if not is_avatar_path(path):
            raise ValueError(f"'{path}' is not an avatar file, expected one of {', '.join(AVATAR_SUFFIXES)}")
        character = import_avatar(path, ImportConfig(mapping=mapping))
        typer.echo("\n".join(inspect_lines(character)))
