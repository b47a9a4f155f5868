"""Kimono top and hakama: what a miko (white top, red hakama) and a samurai wear.

The kimono top is the kimono's upper body (:func:`~kyara.character.garment_kimono.kimono_upper`:
crossed collar, white under-collar, hanging sleeves) ending at the hips, tucked into the hakama.
The hakama is a long pleated skirt-like garment from above the waist to the ankles with a waist
band (*himo*) in the trim colour; it is built after the top (layer level 2.5), so the top's hem
stays inside it.

Parts: ``kimono-top``, ``kimono-top-juban``, ``kimono-top-collar``; ``hakama`` (band and pleated
skirt), ``hakama-himo``, ``hakama-folds``.
"""

from __future__ import annotations

from kyara.character import garment_common as gc
from kyara.character.garment_kimono import kimono_collar, kimono_upper, obi_heights

HAKAMA_PLEATS = 12
HAKAMA_FLARE = 0.35


def kimono_top(wd, piece):
    g = wd.geo
    v_open, _sleeve = kimono_upper(wd, piece, "kimono-top", g.hips_y - 0.1 * (g.hips_y - g.crotch))
    kimono_collar(wd, piece, "kimono-top", v_open)


def hakama(wd, piece):
    g = wd.geo
    top = obi_heights(g)[1]
    hem = g.ankle_y + 0.08 * (g.knee_y - g.ankle_y)
    gc.add_skirt(wd, "hakama", piece.colour.hex, hem, top, HAKAMA_FLARE, pleats=HAKAMA_PLEATS)
    band = 0.07 * g.T
    wd.add("hakama-himo", gc.trim_hex(piece, "#f5f5f5"), wd.over("hakama", gc.box_region(top - band, top + 0.01)),
           occupy=False)
