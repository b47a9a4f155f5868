"""Refining a character's textures against a diffusion model (issue #22).

``refine.texture`` (differentiable texture lookup on kyara.paint's UV buffers), ``refine.sds``
(score distillation, timestep schedules, CFG hook, interval score matching), ``refine.cel`` (the
cel-shading loss), ``refine.optimize`` (the loop over sampled cameras, the posed stage's draws),
``refine.recipe`` (the loop in kyara.train's harness: checkpoints, resume, the schedule check),
``refine.shading`` (surface frames, normal-map textures, torch toon shading), ``refine.guidance``
(the diffusers predictor and encoder), ``refine.avatar`` (``kyara refine``'s run and files) and
``refine.outputs`` (the VRM's normal map, normal-map renders, progress frames). Every module imports
torch lazily, inside its functions: ``import kyara.refine`` stays cheap. See docs/refine.md.
"""
