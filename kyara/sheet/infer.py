"""Render a character sheet in new poses: :class:`SheetRenderer` (the sheet prepared once, then any
number of targets) and :func:`render_sheet` (one call, one target).

::

    from kyara.sheet.inputs import read_references
    from kyara.sheet.infer import SheetRenderer
    refs = read_references(["front.png", "side.png"], ["front_udp.npz", "side_udp.npz"])
    r = SheetRenderer(refs, method="b2")
    rgba = r.render(target_udp)          # premultiplied float32 [H, W, 4] at the target's size

Per target: CoNR's square crop of the target UDP's occupancy box to the working side, the lookup in
the references (:func:`kyara.sheet.lookup.correspond`), the method, the result pasted back at the
target's size (:func:`kyara.sheet.prep.paste_back`). The references are cropped, looked up into
k-d trees and (``conr``) encoded once per sheet, not per frame — CoNR's video trick.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from kyara.sheet import METHODS
from kyara.sheet.baselines import BASELINES, run_baseline
from kyara.sheet.lookup import canonical, check_udp, correspond
from kyara.sheet.prep import crop_udp, paste_back, square_box

BASELINE_SIDE = 256  # working side of the baselines (they have no resolution of their own)
AUTO = "auto"


def default_weights() -> Path:
    return Path(str(resources.files("kyara") / "data" / "weights" / "sheet.safetensors"))


def missing_weights(path: Path) -> FileNotFoundError:
    return FileNotFoundError(f"no CoNR-lite weights at '{path}': train them with `kyara train sheet` "
                             "(--install puts them there), or use --method b2")


def resolve_method(method: str, weights: str | os.PathLike | None = None) -> str:
    """``auto`` -> ``conr`` when weights exist, else ``b2``; other names are checked."""
    if method == AUTO:
        return "conr" if Path(weights or default_weights()).is_file() else "b2"
    if method not in METHODS:
        raise ValueError(f"--method '{method}' is unknown, expected one of {AUTO}, {', '.join(METHODS)}")
    if method == "conr":
        p = Path(weights) if weights is not None else default_weights()
        if not p.is_file():
            raise missing_weights(p)
    return method


def load_sheet_model(path: str | os.PathLike | None = None):
    """``(model, card)``: CoNR-lite from its ``.safetensors`` (the shipped weights by default)."""
    from kyara.errors import require_extra

    require_extra(("torch",), "--method conr", "diffusion", "torch")
    from kyara.nn.weights import load_model
    from kyara.sheet.model import KIND, build

    p = Path(path) if path is not None else default_weights()
    if not p.is_file():
        raise missing_weights(p)
    model, _, card = load_model(p, KIND, build)
    return model, card


class SheetRenderer:
    """A sheet prepared for rendering targets with one method (see the module doc).

    ``refs``: :class:`~kyara.sheet.inputs.Reference` objects (or ``(rgba uint8, udp)`` pairs) with
    their UDPs; ``method``: ``b0``, ``b1``, ``b2``, ``conr`` or ``auto``; ``side``: the working side
    (``conr``: the model's; baselines: :data:`BASELINE_SIDE`); ``model``: an already loaded network.
    """

    def __init__(self, refs, method: str = AUTO, weights: str | os.PathLike | None = None,
                 side: int | None = None, model=None) -> None:
        from kyara.sheet.recipe import sheet_view

        self.method = resolve_method(method, weights) if model is None else "conr"
        self.model = None
        if self.method == "conr":
            self.model = model if model is not None else load_sheet_model(weights)[0]
            self.model.eval()
            side = int(self.model.config.size)
        self.side = int(side or BASELINE_SIDE)
        pairs = [(r.rgba, r.udp, r.name) if hasattr(r, "rgba") else (r[0], r[1], f"reference {k}")
                 for k, r in enumerate(refs)]
        if not pairs:
            raise ValueError("a sheet needs at least one reference, got none")
        self.views = canonical(sheet_view(rgba, udp, self.side, f"reference '{name}'") for rgba, udp, name in pairs)
        self._features = None
        if self.model is not None:
            import torch

            from kyara.sheet.model import pack_refs

            with torch.inference_mode():
                r = pack_refs(self.views)
                self._features = self.model.encode(r["ref_rgba"], r["ref_udp"], r["ref_colour"])

    def _prepare(self, udp: np.ndarray):
        u = check_udp(udp, "target UDP")
        box = square_box(u[..., 3] > 0.5, "target UDP")
        small = crop_udp(u, box, self.side)
        return box, small, correspond(self.views, small)

    def render(self, udp: np.ndarray, ablate: bool = False) -> np.ndarray:
        """Target UDP ``[H, W, 4]`` -> premultiplied float32 RGBA ``[H, W, 4]``."""
        return next(iter(self.render_many([udp], ablate=ablate)))

    def render_small(self, udp_small: np.ndarray, corr=None, ablate: bool = False) -> np.ndarray:
        """A target already at the working side -> premultiplied ``[S, S, 4]`` (evaluation uses it)."""
        corr = corr if corr is not None else correspond(self.views, udp_small)
        if self.method in BASELINES:
            return run_baseline(self.method, self.views, udp_small, corr)
        return self._network([(udp_small, corr)], ablate)[0]

    def _network(self, items, ablate: bool) -> list[np.ndarray]:
        import torch

        from kyara.sheet.model import collate, pack_target

        b = collate([pack_target(corr, small) for small, corr in items])
        with torch.inference_mode():
            out = self.model.render(self._features, b["udp"], b["grid"], b["dist"], b["fill"], ablate=ablate)["rgba"]
        return list(out.clamp(0, 1).permute(0, 2, 3, 1).numpy())

    def render_many(self, udps: Iterable[np.ndarray], batch: int = 8, ablate: bool = False) -> Iterator[np.ndarray]:
        """Each target UDP -> premultiplied float32 ``[H, W, 4]`` at its own size, in order (the
        network renders ``batch`` targets per call)."""
        pending = []
        for udp in udps:
            pending.append(self._prepare(udp))
            if len(pending) >= (batch if self.model is not None else 1):
                yield from self._flush(pending, ablate)
                pending = []
        if pending:
            yield from self._flush(pending, ablate)

    def _flush(self, pending, ablate: bool) -> Iterator[np.ndarray]:
        if self.model is None:
            for box, small, corr in pending:
                yield paste_back(run_baseline(self.method, self.views, small, corr), box)
            return
        outs = self._network([(small, corr) for _, small, corr in pending], ablate)
        for (box, _, _), out in zip(pending, outs):
            yield paste_back(out, box)


def render_sheet(refs, target_udp: np.ndarray, method: str = AUTO, weights: str | os.PathLike | None = None
                 ) -> np.ndarray:
    """One target: references (see :class:`SheetRenderer`) + UDP ``[H, W, 4]`` -> straight RGBA uint8
    ``[H, W, 4]`` (what image files hold)."""
    from kyara.sheet.prep import straight_uint8

    return straight_uint8(SheetRenderer(refs, method, weights).render(target_udp))
