"""Anime characters described by a typed spec.

    kyara.character.spec     ``CharacterSpec``: body, hair, eyes, skin, outfit, accessories,
                             expression; deterministic JSON (``character.json``) and strict loading
    kyara.character.parser   ``parse_prompt(prompt, seed)``: a text prompt -> ``CharacterSpec``
    kyara.character.lexicon  the parser's vocabulary (phrases, synonyms) and prompt segmentation
    kyara.character.colors   colour words -> sRGB hex, skin tones, the palettes seeds draw from

Nothing here imports heavy packages; numpy is imported by the parser when it runs.
"""
