"""Anime characters described by a typed spec.

    kyara.character.spec     ``CharacterSpec``: body, hair, eyes, skin, outfit, accessories,
                             expression; deterministic JSON (``character.json``) and strict loading
    kyara.character.parser   ``parse_prompt(prompt, seed)``: a text prompt -> ``CharacterSpec``
                             (step 3, filling what the prompt left open from the seed: ``parser_fill``)
    kyara.character.lexicon  the parser's vocabulary (phrases, synonyms) and prompt segmentation
    kyara.character.reading  what a prompt itself fixed (``read_prompt``) and ``understand(prompt)``:
                             the attributes understood and the words ignored, with their spans
    kyara.character.colors   colour words -> sRGB hex, skin tones, the palettes seeds draw from
    kyara.character.garments the outfit as closed skinned shells (recipes in ``garment_*``: kinds,
                             tops, sailor, kimono, hakama, coats, costumes: maid, lolita, idol, swimsuit)

Nothing here imports heavy packages; numpy is imported by the parser when it runs.
"""


def understand(prompt: str):
    """:func:`kyara.character.reading.understand`: the attributes a prompt's words gave and the
    words nothing understood, with their character spans, and the "mostly not understood" flag."""
    from kyara.character.reading import understand as _understand

    return _understand(prompt)
