"""The parametric anime body: parameters, presets, skeleton, surface, skin weights."""
