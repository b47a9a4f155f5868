"""kyara studio: every capability behind one web page (gradio), served on loopback.

::

    kyara studio                      # http://127.0.0.1:7860, files under a temporary folder
    kyara studio --port 8000 -o work  # files under ./work

Tabs: Create (prompt -> character, previews, turntable, editable spec), Pose (presets, joint
sliders, live OpenPose/depth/toon, OpenPose JSON in and out), Image (diffusers, ControlNet, LoRA,
progress, cancel, gallery), Animate (built-in or uploaded motion -> video + conditions), Export
(VRM / GLB / STL, 3D view).

Modules: :mod:`~kyara.studio.handlers` (what each button does, one module per tab; no gradio),
:mod:`~kyara.studio.session` (output folders, upload checks), :mod:`~kyara.studio.tabs` (one module per
tab, ``tabs/tab_*.py``, found like the CLI's ``cmd_*.py``), :mod:`~kyara.studio.app` (the page that lays
them out), :mod:`~kyara.studio.server` (environment and launch). ``import kyara.studio`` does not
import gradio; :func:`launch` does.
"""

from __future__ import annotations

from kyara.studio.config import StudioConfig

__all__ = ["StudioConfig", "launch"]


def launch(config: StudioConfig | None = None, block: bool = True):
    """See :func:`kyara.studio.server.launch`."""
    from kyara.studio.server import launch as _launch

    return _launch(config or StudioConfig(), block)
