"""Sampler names users know (AUTOMATIC1111 / ComfyUI) -> diffusers schedulers.

Each name maps to a scheduler class and config overrides; the model's own scheduler config
(betas, timestep spacing, prediction type) is kept, as diffusers' ``from_config`` does.
"""

from __future__ import annotations

# name -> (diffusers class, config overrides, AUTOMATIC1111 sampler label)
SCHEDULERS: dict[str, tuple[str, dict, str]] = {
    "euler-a": ("EulerAncestralDiscreteScheduler", {}, "Euler a"),
    "euler": ("EulerDiscreteScheduler", {}, "Euler"),
    "euler-karras": ("EulerDiscreteScheduler", {"use_karras_sigmas": True}, "Euler Karras"),
    "dpm++-2m": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}, "DPM++ 2M"),
    "dpm++-2m-karras": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "use_karras_sigmas": True},
                        "DPM++ 2M Karras"),
    "dpm++-2m-sde-karras": ("DPMSolverMultistepScheduler",
                            {"algorithm_type": "sde-dpmsolver++", "use_karras_sigmas": True}, "DPM++ 2M SDE Karras"),
    "dpm2": ("KDPM2DiscreteScheduler", {}, "DPM2"),
    "dpm2-a": ("KDPM2AncestralDiscreteScheduler", {}, "DPM2 a"),
    "heun": ("HeunDiscreteScheduler", {}, "Heun"),
    "lms": ("LMSDiscreteScheduler", {}, "LMS"),
    "ddim": ("DDIMScheduler", {}, "DDIM"),
    "pndm": ("PNDMScheduler", {"skip_prk_steps": True}, "PLMS"),
    "unipc": ("UniPCMultistepScheduler", {}, "UniPC"),
    "lcm": ("LCMScheduler", {}, "LCM"),
}
SCHEDULER_NAMES = tuple(SCHEDULERS)
DEFAULT_SCHEDULER = "euler-a"


def check_scheduler(name: str) -> str:
    key = str(name).strip().lower()
    if key not in SCHEDULERS:
        raise ValueError(f"scheduler '{name}' is unknown, expected one of {', '.join(SCHEDULER_NAMES)}")
    return key


def a1111_label(name: str) -> str:
    return SCHEDULERS[check_scheduler(name)][2]


def from_a1111_label(label: str) -> str | None:
    """``"DPM++ 2M Karras"`` -> ``"dpm++-2m-karras"``; None when unknown."""
    low = label.strip().lower()
    return next((k for k, v in SCHEDULERS.items() if v[2].lower() == low), None)


def make_scheduler(name: str, base_config):
    """A new scheduler ``name`` built from the model's scheduler config (a FrozenDict/dict)."""
    import diffusers

    cls_name, overrides, _ = SCHEDULERS[check_scheduler(name)]
    cls = getattr(diffusers, cls_name)
    return cls.from_config(base_config, **overrides)
