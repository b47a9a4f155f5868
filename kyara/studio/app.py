"""The studio page: one gradio Blocks app whose tabs come from :mod:`kyara.studio.tabs`.

Each tab is its own module (``kyara/studio/tabs/tab_*.py``: Create, Pose, Image, Animate, Export),
found and ordered by :func:`kyara.studio.tabs.discover`; this shell only lays them out. Widgets
move values to :mod:`kyara.studio.handlers` and back. Every handler error becomes a one-line
``error: ...`` shown in the page (a status line, and gradio's error toast); nothing a request sends
can stop the server. Generation runs in a queue (one at a time, others wait).

Import this module only after :func:`kyara.studio.server.prepare_environment` (it imports
gradio, which reads its environment at import time).
"""

from __future__ import annotations

import gradio as gr

from kyara.studio.config import StudioConfig
from kyara.studio.tabs import TabContext, discover, new_state, tab_id
from kyara.studio.viewer import find_web_modules

CSS = """
.kyara-progress {position: relative; height: 26px; border-radius: 6px; background: #e5e7eb; overflow: hidden;}
.kyara-progress-fill {position: absolute; left: 0; top: 0; bottom: 0; background: #f472b6; transition: width .15s;}
.kyara-progress-label {position: relative; padding-left: 8px; line-height: 26px; font-size: 14px; color: #111;}
"""


def build_app(config: StudioConfig) -> gr.Blocks:
    """The whole page for ``config`` (its ``output`` folder must exist)."""
    with gr.Blocks(title="kyara studio", analytics_enabled=False) as demo:
        ctx = TabContext(config=config, state=gr.State(new_state()), web_modules=find_web_modules(config.web_modules))
        gr.Markdown("# kyara studio\nAnime characters from text: create, pose, generate, animate, export.")
        with gr.Tabs():
            for mod in discover():
                with gr.Tab(mod.TITLE, id=tab_id(mod)) as tab:
                    mod.build(ctx, tab)
    demo.queue(default_concurrency_limit=1, max_size=config.queue_size)
    return demo
