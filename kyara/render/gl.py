"""The headless OpenGL context (moderngl over EGL), created once per process.

EGL needs no display: on a CPU-only machine Mesa's llvmpipe rasterises (GL 4.5), on a machine with
an NVIDIA driver the same call gets the GPU. ``moderngl`` is imported here, on first use only.
"""

from __future__ import annotations

import os
import threading

from kyara.errors import RenderBackendError

_LOCK = threading.Lock()
_CTX: dict[tuple[int, int], object] = {}  # (process id, thread id) -> moderngl.Context

MISSING_HINT = (
    "no headless OpenGL context (EGL): install the system packages libegl1 libegl-mesa0 libgl1-mesa-dri "
    "(Debian/Ubuntu: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri) and the Python package moderngl "
    "(`make demo` in kyara's folder installs both)"
)


def get_context():
    """Return this thread's ``moderngl.Context`` (standalone, EGL backend, GL >= 3.3).

    A GL context is current on the thread that made it, so each thread gets its own (web servers
    and test runners call from several threads); a renderer must be used on the thread that made it.
    Raises :class:`kyara.errors.RenderBackendError` with a one-line hint when it cannot be made.
    """
    key = (os.getpid(), threading.get_ident())
    with _LOCK:
        if key in _CTX:
            return _CTX[key]
        try:
            import moderngl
        except ImportError as exc:
            raise RenderBackendError(f"{MISSING_HINT} (import moderngl failed: {exc})") from None
        try:
            ctx = moderngl.create_standalone_context(backend="egl", require=330)
        except Exception as exc:  # moderngl raises a bare Exception for EGL/driver failures
            reason = " ".join(str(exc).split())[:160]
            raise RenderBackendError(f"{MISSING_HINT} ({type(exc).__name__}: {reason})") from None
        _CTX[key] = ctx
        return ctx


def context_info() -> dict[str, str]:
    """Renderer name and version of the shared context (for benchmark tables)."""
    ctx = get_context()
    return {"renderer": str(ctx.info.get("GL_RENDERER", "?")), "version": str(ctx.info.get("GL_VERSION", "?"))}


# -- GIL-free GL entry points and a second rendering thread ------------------------------------
# llvmpipe bins triangles on the calling thread and then rasterises the whole scene on its worker
# threads while the caller waits, so one thread leaves a core idle half the time. Two contexts on
# two threads overlap one's binning with the other's rasterisation. moderngl holds the GIL inside
# every call, so the calls that do the heavy work (clear, draw, read) go through ctypes, which
# releases it. The function pointers come from eglGetProcAddress and dispatch to the context
# current on the calling thread.
_GL_SIGS = {
    "glBindFramebuffer": ("I", "I"), "glReadBuffer": ("I",), "glPixelStorei": ("I", "i"),
    "glReadPixels": ("i", "i", "i", "i", "I", "I", "p"), "glClearBufferfv": ("I", "i", "p"),
    "glUseProgram": ("I",), "glBindVertexArray": ("I",), "glBindBuffer": ("I", "I"),
    "glDrawArrays": ("I", "i", "i"), "glMultiDrawElementsIndirect": ("I", "I", "p", "i", "i"),
}
_GL_FUNCS: dict | None = None
PARALLEL_ENV = "KYARA_GL_THREADS"  # "1" renders on the calling thread only


def gl_functions() -> dict:
    """``{name: ctypes function}`` for the few GL calls the renderer makes without the GIL."""
    global _GL_FUNCS
    with _LOCK:
        if _GL_FUNCS is None:
            import ctypes

            egl = ctypes.CDLL("libEGL.so.1")
            egl.eglGetProcAddress.restype = ctypes.c_void_p
            egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]
            types = {"I": ctypes.c_uint, "i": ctypes.c_int, "p": ctypes.c_void_p}
            funcs = {}
            for name, sig in _GL_SIGS.items():
                addr = egl.eglGetProcAddress(name.encode())
                if not addr:
                    raise RenderBackendError(f"{MISSING_HINT} (eglGetProcAddress({name}) failed)")
                funcs[name] = ctypes.CFUNCTYPE(None, *(types[c] for c in sig))(addr)
            _GL_FUNCS = funcs
        return _GL_FUNCS


class GLWorker:
    """A daemon thread with its own GL context; :meth:`submit` runs ``fn(ctx)`` there."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kyara-gl")
        self.ctx = self._pool.submit(self._make).result()  # raises RenderBackendError if it fails
        self.pid = os.getpid()

    @staticmethod
    def _make():
        import moderngl

        try:
            return moderngl.create_standalone_context(backend="egl", require=330)
        except Exception as exc:  # moderngl raises a bare Exception for EGL/driver failures
            raise RenderBackendError(f"{MISSING_HINT} (second context: {' '.join(str(exc).split())[:160]})") from None

    def submit(self, fn, *args):
        return self._pool.submit(fn, self.ctx, *args)


_WORKER: GLWorker | None = None
_WORKER_FAILED = False


def get_worker() -> GLWorker | None:
    """The process-wide second rendering thread, or None when disabled (``KYARA_GL_THREADS=1``),
    on a single-CPU machine, or when no second context can be made."""
    global _WORKER, _WORKER_FAILED
    if os.environ.get(PARALLEL_ENV, "2") == "1" or (os.cpu_count() or 1) < 2:
        return None
    with _LOCK:
        if _WORKER is not None and _WORKER.pid == os.getpid():
            return _WORKER
        if _WORKER_FAILED:
            return None
    try:
        worker = GLWorker()
    except RenderBackendError:
        _WORKER_FAILED = True
        return None
    with _LOCK:
        _WORKER = worker
    return worker
