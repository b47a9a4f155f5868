"""Paint a rigged character's appearance with diffusion, every view in agreement (issue #21).

    kyara.paint.uv       one UV atlas for the whole character (xatlas), split vertices mapped back
    kyara.paint.buffers  per-view buffers from kyara's own renderer: texel UV, visibility, cosine, part
    kyara.paint.bake     texture -> view as a fixed sparse map, view -> texture as its weighted transpose
    kyara.paint.cameras  the painting cameras (around, higher, face close-ups) and their view prompts
    kyara.paint.sync     the synchronized multi-view sampler (SyncMVD-style) with a DDIM schedule
    kyara.paint.backend  the noise predictor from the diffusers backend (prompts, CFG, ControlNets), paint_texture
    kyara.paint.finish   anime finish: per-island palette, painted shadows merged, unseen texels filled
    kyara.paint.avatar   the painted character (split along UV seams), its VRM, previews and files: paint_avatar
    kyara.paint.evaluate figures of a painted folder measured again: consistency, coverage, CLIPScore

Nothing here imports torch, diffusers or OpenGL at import time.
"""
