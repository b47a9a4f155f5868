"""The headless OpenGL context (moderngl over EGL), created once per process.

EGL needs no display: on a CPU-only machine Mesa's llvmpipe rasterises (GL 4.5), on a machine with
an NVIDIA driver the same call gets the GPU. ``moderngl`` is imported here, on first use only.
"""

from __future__ import annotations

import os
import threading

from kyara.errors import RenderBackendError

_LOCK = threading.Lock()
_CTX = None
_PID = None

MISSING_HINT = (
    "no headless OpenGL context (EGL): install the system packages libegl1 libegl-mesa0 libgl1-mesa-dri "
    "(Debian/Ubuntu: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri) and the Python package moderngl"
)


def get_context():
    """Return the process-wide ``moderngl.Context`` (standalone, EGL backend, GL >= 3.3).

    Raises :class:`kyara.errors.RenderBackendError` with a one-line hint when it cannot be made.
    """
    global _CTX, _PID
    with _LOCK:
        if _CTX is not None and _PID == os.getpid():
            return _CTX
        try:
            import moderngl
        except ImportError as exc:
            raise RenderBackendError(f"{MISSING_HINT} (import moderngl failed: {exc})") from None
        try:
            ctx = moderngl.create_standalone_context(backend="egl", require=330)
        except Exception as exc:  # moderngl raises a bare Exception for EGL/driver failures
            reason = " ".join(str(exc).split())[:160]
            raise RenderBackendError(f"{MISSING_HINT} ({type(exc).__name__}: {reason})") from None
        _CTX, _PID = ctx, os.getpid()
        return ctx


def context_info() -> dict[str, str]:
    """Renderer name and version of the shared context (for benchmark tables)."""
    ctx = get_context()
    return {"renderer": str(ctx.info.get("GL_RENDERER", "?")), "version": str(ctx.info.get("GL_VERSION", "?"))}
