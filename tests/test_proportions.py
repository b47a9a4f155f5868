"""Body presets against common anime proportions (docs/proportions.md).

The ranges below are the drawing-guide conventions docs/proportions.md cites: heads tall per kind
of figure, the eye line at about the middle of the head or a little below, legs (crotch height) at
least half the height for teens and adults, short legs for chibi. The fast test holds the requested
parameters to them; the slow one builds every preset and holds the MEASURED mesh
(:func:`kyara.body.measure.measure_body`) to them, and checks that the table in the docs is the one
the meshes give. ``python tests/test_proportions.py`` prints that table.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kyara.body.params import PRESETS

DOC = Path(__file__).resolve().parents[1] / "docs" / "proportions.md"

# preset -> (heads tall range, leg length range (crotch height / height))
FIGURES = {
    "chibi": ((2.0, 3.0), (0.2, 0.36)),
    "child": ((4.0, 5.5), (0.38, 0.48)),
    "teen-girl": ((6.0, 7.0), (0.5, 0.56)),
    "teen-boy": ((6.0, 7.0), (0.5, 0.56)),
    "adult-woman": ((7.0, 8.0), (0.5, 0.56)),
    "adult-man": ((7.0, 8.0), (0.5, 0.56)),
    "heroic": ((8.0, 9.0), (0.5, 0.58)),
}
EYE_LINE = (0.48, 0.62)  # crown -> eye centre, in head heights: the middle or a little below
HEAD_WIDTH = (0.75, 1.0)  # head width / head height
COLUMNS = ("height", "heads_tall", "head_cm", "eye_height", "leg_length", "head_width", "arm_length")


def check(name: str, values: dict[str, float]) -> list[str]:
    """The reference ranges ``values`` (measure_body names) break for preset ``name``."""
    (h_lo, h_hi), (l_lo, l_hi) = FIGURES[name]
    out = []
    for key, lo, hi in (("heads_tall", h_lo, h_hi), ("leg_length", l_lo, l_hi), ("eye_height", *EYE_LINE),
                        ("head_width", *HEAD_WIDTH)):
        if not lo <= values[key] <= hi:
            out.append(f"{name}: {key} {values[key]:.3f} outside {lo}..{hi}")
    return out


def test_every_preset_has_a_reference_figure():
    assert set(FIGURES) == set(PRESETS)


def test_requested_preset_parameters_follow_the_references():
    bad = [msg for name, p in PRESETS.items() for msg in check(name, p.to_dict())]
    assert not bad, bad


def measured_rows() -> dict[str, dict[str, float]]:
    from kyara.body.measure import measure_body
    from kyara.body.model import build_body

    rows = {}
    for name, p in PRESETS.items():
        m = measure_body(build_body(p))
        rows[name] = {**m, "head_cm": 100.0 * m["height"] / m["heads_tall"]}
    return rows


def table(rows: dict[str, dict[str, float]]) -> str:
    """The Markdown table of docs/proportions.md."""
    head = ("| preset | height (m) | heads tall | head (cm) | eye line (crown → eye, heads) | legs (crotch / height) "
            "| head width / height | arm (shoulder → wrist / height) |")
    lines = [head, "|" + "---|" * 8]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['height']:.2f} | {r['heads_tall']:.2f} | {r['head_cm']:.1f} | {r['eye_height']:.3f} "
                     f"| {r['leg_length']:.3f} | {r['head_width']:.3f} | {r['arm_length']:.3f} |")
    return "\n".join(lines)


def doc_rows() -> dict[str, list[float]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| ([a-z-]+) \|((?: [0-9.]+ \|){7})$", line)
        if m:
            rows[m.group(1)] = [float(x) for x in m.group(2).split("|") if x.strip()]
    return rows


@pytest.mark.slow
def test_measured_presets_follow_anime_proportions_and_the_docs_table_is_measured():
    rows = measured_rows()
    bad = [msg for name, r in rows.items() for msg in check(name, r)]
    assert not bad, bad
    doc = doc_rows()
    assert set(doc) == set(PRESETS), sorted(doc)
    decimals = (2, 2, 1, 3, 3, 3, 3)
    for name, r in rows.items():
        for key, d, got in zip(COLUMNS, decimals, doc[name]):
            assert abs(r[key] - got) <= 1.01 * 10.0 ** -d, (name, key, r[key], got)


if __name__ == "__main__":
    print(table(measured_rows()))
