"""Text + pose -> anime image with diffusers (Stable Diffusion 1.5 / SDXL, ControlNet, LoRA).

    kyara.generate.config      ImageConfig, ControlSpec, LoraSpec, GenerationResult (no torch)
    kyara.generate.pipeline    generate(config, progress=None, cancel=None) -> GenerationResult
    kyara.generate.models      model ids/folders/single files, offline cache check, family checks
    kyara.generate.prompts     (word:1.2) weighting, >77-token chunking, textual inversion, content policy
    kyara.generate.schedulers  sampler names -> diffusers schedulers
    kyara.generate.metadata    PNG ``parameters`` (AUTOMATIC1111) + JSON chunks, --from
    kyara.generate.conditions  condition images from bodies, characters, OpenPose JSON, images
    kyara.generate.tiny        tiny random SD1.5/SDXL + ControlNet models for smoke tests

Importing this package imports neither torch nor diffusers.
"""

from kyara.generate.config import ControlSpec, GenerationResult, ImageConfig, LoraSpec

__all__ = ["ControlSpec", "GenerationResult", "ImageConfig", "LoraSpec", "generate"]


def generate(config, progress=None, cancel=None):
    """See :func:`kyara.generate.pipeline.generate`."""
    from kyara.generate.pipeline import generate as _generate

    return _generate(config, progress=progress, cancel=cancel)
