"""Refining a character's textures against a diffusion model (issue #22, foundation).

``refine.texture`` (differentiable texture lookup on kyara.paint's UV buffers), ``refine.sds``
(score distillation, timestep schedules, CFG hook, interval score matching), ``refine.cel`` (the
cel-shading loss) and ``refine.optimize`` (the loop over sampled cameras). Every module imports
torch lazily, inside its functions: ``import kyara.refine`` stays cheap. See docs/refine.md.
"""
