"""A diffusion prompt from a :class:`~kyara.character.spec.CharacterSpec`: anime-model tags in the
order anime checkpoints are trained on (subject, hair, eyes, outfit, accessories, expression)."""

from __future__ import annotations

_SUBJECT = {"chibi": "1girl, chibi", "child": "1girl, child", "teen-girl": "1girl", "teen-boy": "1boy",
            "adult-woman": "1girl, mature female", "adult-man": "1boy, mature male", "heroic": "1boy, muscular"}
_KIND = {"sports-jersey": "sports jersey", "sailor-uniform": "serafuku, sailor collar", "long-coat": "long coat",
         "pirate-coat": "pirate coat", "witch-robe": "witch robe", "t-shirt": "t-shirt", "maid-dress": "dress",
         "lolita-dress": "dress", "idol-dress": "dress", "school-swimsuit": "one-piece swimsuit", "kimono-top": "kimono"}
# costume tags after the coloured piece (Danbooru's names for the whole look)
_COSTUME = {"maid-dress": "maid, maid apron, frills", "lolita-dress": "lolita fashion, frilled dress, layered skirt",
            "idol-dress": "idol clothes, frilled skirt", "school-swimsuit": "school swimsuit",
            "kimono-top": "japanese clothes", "hakama": "hakama skirt"}
_ACC = {"witch-hat": "witch hat", "tricorn-hat": "tricorne", "cap": "baseball cap", "ribbon": "hair ribbon",
        "cat-ears": "cat ears", "glasses": "glasses", "scarf": "scarf", "maid-headdress": "maid headdress"}
# hair style -> Danbooru tags (the vocabulary anime checkpoints are captioned with)
_HAIR = {"twin-tails": "twintails", "ponytail": "high ponytail", "braided": "braid", "spiky": "spiked hair",
         "bob": "bob cut", "hime": "hime cut", "low-ponytail": "low ponytail", "side-ponytail": "side ponytail",
         "buns": "double bun, hair bun", "drills": "drill hair, twin drills"}
_TEXTURE = {"wavy": "wavy hair", "curly": "curly hair"}


def spec_prompt(spec) -> str:
    """Comma-separated tags describing ``spec``, e.g. ``1girl, long black hair, blue eyes, red kimono, ...``."""
    tags = [_SUBJECT.get(spec.body.preset, "1girl"), "solo", "full body"]
    hair = spec.hair
    tags.append(f"{hair.length} {hair.colour.name} hair")
    if hair.style in _HAIR:
        tags.append(_HAIR[hair.style])
    if hair.texture in _TEXTURE:
        tags.append(_TEXTURE[hair.texture])
    if hair.tips is not None:
        tags.append(f"two-tone hair, colored tips, {hair.tips.name} hair tips")
    if hair.ahoge:
        tags.append("ahoge")
    if hair.bangs and hair.bangs != "none":
        tags.append(f"{hair.bangs} bangs")
    tags.append(f"{spec.eye_colour.name} eyes")
    for piece in spec.outfit:
        kind = _KIND.get(piece.kind, piece.kind)
        tag = f"{piece.colour.name} {kind}"
        if piece.kind == "kimono" and piece.obi is not None:
            tag += f", {piece.obi.name} obi"
        if piece.kind == "sports-jersey" and piece.number is not None:
            tag += f", number {piece.number}"
        if piece.kind in _COSTUME:
            tag += f", {_COSTUME[piece.kind]}"
        if piece.kind == "lolita-dress" and piece.colour.name == "black":
            tag += ", gothic lolita"
        tags.append(tag)
    kinds = {p.kind: p.colour.name for p in spec.outfit}
    if kinds.get("kimono-top") == "white" and kinds.get("hakama") in ("red", "crimson", "scarlet"):
        tags.append("miko")
    for acc in spec.accessories:
        tags.append(f"{acc.colour.name} {_ACC.get(acc.kind, acc.kind)}")
    if spec.expression and spec.expression != "neutral":
        tags.append(spec.expression)
    return ", ".join(tags)
