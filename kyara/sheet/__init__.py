"""CoNR: the character from its character sheet, in any new pose.

A *sheet* is a few images of one character (any poses, any views) with their UDP maps (CoNR's
Ultra-Dense Pose: per pixel the A-pose xyz of the visible surface in [0, 1], plus occupancy). A
*target* is a UDP map of the character in the new pose. Methods (``kyara sheet --method``):

* ``b0``, ``b1``, ``b2`` — lookup baselines (:mod:`kyara.sheet.baselines`), numpy + scipy only;
* ``conr`` — CoNR-lite, the learned renderer (:mod:`kyara.sheet.model`), trained with
  ``kyara train sheet`` (:mod:`kyara.sheet.recipe`); at initialisation it equals B2.

Data flow::

    images + UDP --prep (CoNR's square crop, S px)--> RefView --lookup.correspond--> Correspondence
                 --baselines / model--> premultiplied RGBA at S --prep.paste_back--> the target's canvas

Modules: :mod:`~kyara.sheet.prep` (crop/pad/resize, paste back), :mod:`~kyara.sheet.lookup`
(k-d trees, correspondences, canonical reference order), :mod:`~kyara.sheet.baselines`,
:mod:`~kyara.sheet.model` (torch), :mod:`~kyara.sheet.recipe` (training), :mod:`~kyara.sheet.inputs`
(user files), :mod:`~kyara.sheet.targets` (target UDP from poses and motions),
:mod:`~kyara.sheet.infer` (the entry point :func:`~kyara.sheet.infer.render_sheet`),
:mod:`~kyara.sheet.evaluate` (the table against the baselines).

Importing this package imports neither torch nor OpenGL.
"""

from __future__ import annotations

METHODS = ("b0", "b1", "b2", "conr")

__all__ = ["METHODS"]
