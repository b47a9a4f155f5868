"""What each studio button does, as plain functions on files and arrays (no gradio import).

The web layer (:mod:`kyara.studio.tabs`) only moves values between widgets and these functions;
every bad input raises a one-line ``ValueError``/``FileNotFoundError`` that the page shows as
``error: ...``, exactly as the CLI prints it. One module per tab (:mod:`.characters` for Create,
:mod:`.poses` with :mod:`.reference` and :mod:`.pose_fit`, :mod:`.images`, :mod:`.animation`,
:mod:`.exports`) and :mod:`.common` for what they share; this package re-exports their public names
(``from kyara.studio import handlers as H``).

Pose state, kept per browser session, is a plain dict (JSON-able)::

    {"name": "jog", "angles": {bone: {angle: degrees}}, "translation": [x, y, z]}

``angles`` holds every bone of the chosen preset (see :func:`kyara.pose.limits.pose_to_angles`);
the sliders of :data:`SLIDERS` override their own angle on top of it.
"""

from __future__ import annotations

from kyara.studio.handlers.animation import ANIMATION_FORMATS, ANIMATION_SIZE, AnimateOutput, animate_clip
from kyara.studio.handlers.characters import CREATE_SIZE, TURNTABLE, CreateOutput, avatar_previews, create
from kyara.studio.handlers.common import (DEFAULT_BODY, as_upload, escape_html, import_avatar, load_body,
                                          load_character, on_gl_thread, one_line, preset_pose,
                                          RANDOM_SEED, resolve_seed)
from kyara.studio.handlers.exports import (EXPORT_FORMATS, EXPORT_LABELS, MOTION_FORMATS, NO_MOTION, POSED_FORMATS,
                                           ExportOutput, avatar_upload, export, export_downloads)
from kyara.studio.handlers.images import (CONTROL_CHOICES, HISTORY_COLUMNS, add_history, history_gallery,
                                          history_table, NO_STYLE, SLIDER_RANGES, GenerationJob, image_config,
                                          image_tags, parse_loras, preview_image, progress_html, reference_for_image,
                                          save_images, save_pose_beside, tags_preview, upscale_gallery_image)
from kyara.studio.handlers.poses import (PREVIEW_SIZE, SLIDERS, UPLOAD_PREVIEW_MAX, PosePreview, openpose_upload,
                                         pose_from_state, pose_image_upload, pose_json_upload, pose_preview,
                                         pose_state, slider_range, slider_values)
from kyara.studio.handlers.reference import DETECT_BACKENDS, ReferencePose, pose_reference_upload

__all__ = [
    "ANIMATION_FORMATS", "ANIMATION_SIZE", "AnimateOutput", "CONTROL_CHOICES", "NO_STYLE", "SLIDER_RANGES", "image_tags", "reference_for_image",
    "preview_image", "save_pose_beside", "tags_preview", "upscale_gallery_image", "CREATE_SIZE", "CreateOutput", "DEFAULT_BODY", "DETECT_BACKENDS", "EXPORT_FORMATS",
    "EXPORT_LABELS", "ExportOutput", "MOTION_FORMATS", "NO_MOTION", "POSED_FORMATS", "export_downloads",
    "HISTORY_COLUMNS", "add_history", "history_gallery", "history_table",
    "GenerationJob", "PREVIEW_SIZE", "PosePreview", "ReferencePose", "SLIDERS", "TURNTABLE", "UPLOAD_PREVIEW_MAX", "animate_clip",
    "as_upload", "avatar_previews", "avatar_upload", "create", "escape_html", "export", "image_config",
    "import_avatar", "load_body", "load_character", "on_gl_thread", "one_line", "openpose_upload",
    "parse_loras", "pose_from_state", "pose_image_upload", "pose_json_upload", "pose_preview",
    "pose_reference_upload", "pose_state",
    "preset_pose", "progress_html", "RANDOM_SEED", "resolve_seed", "save_images", "slider_range", "slider_values",
]
