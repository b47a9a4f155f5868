"""Free-text prompt -> Danbooru-style tags for anime checkpoints (``kyara tags``, ``kyara image --tags``).

- :func:`prompt_tags` reads the prompt with kyara's character parser and writes what it understood
  as tags, keeps the words it did not map, and adds the model family's quality/negative tags and a
  style preset's tags (:mod:`kyara.tags.convert`).
- :func:`image_prompt` is what ``kyara image`` and the studio's Image tab call (``--tags
  auto|on|off``).
- :func:`load_presets` reads the editable presets: ``kyara/data/tags.yaml`` extended by a user's
  file (:mod:`kyara.tags.presets`); :mod:`kyara.tags.vocab` holds the spec -> Danbooru vocabulary.
"""

from kyara.tags.convert import (TAG_MODES, TagResult, family_for_model, image_prompt, kept_phrases, looks_like_tags,
                                prompt_tags)
from kyara.tags.presets import Family, Presets, Style, load_presets

__all__ = ["TAG_MODES", "Family", "Presets", "Style", "TagResult", "family_for_model", "image_prompt", "kept_phrases",
           "load_presets", "looks_like_tags", "prompt_tags"]
