"""What every tab's handlers share: the one GL thread, one-line errors, upload names in
messages, and the session character/body caches (no gradio import)."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Iterator

from kyara.studio.session import Workspace

DEFAULT_BODY = "teen-girl"

_gl_thread = None  # the one thread that makes OpenGL calls (kyara's GL context is current on one thread)
_gl_thread_lock = threading.Lock()


def on_gl_thread(fn, *args, **kwargs):
    """Run ``fn`` on the studio's single rendering thread and return its result (exceptions are
    re-raised here). Web handlers run on a pool of threads; the process-wide GL context must
    always be used from the thread that created it."""
    global _gl_thread
    from concurrent.futures import ThreadPoolExecutor

    with _gl_thread_lock:
        if _gl_thread is None:
            _gl_thread = ThreadPoolExecutor(1, thread_name_prefix="kyara-gl")
    return _gl_thread.submit(fn, *args, **kwargs).result()


def one_line(exc: BaseException) -> str:
    """``error: ...`` as the CLI prints it (internal failures name their type)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)):
        return f"error: {text}"
    from kyara.errors import RenderBackendError

    if isinstance(exc, RenderBackendError):
        return f"error: {text}"
    return f"error: internal error ({type(exc).__name__}): {text}"


@contextlib.contextmanager
def as_upload(name: str, *paths: str | os.PathLike, cleanup: Path | None = None) -> Iterator[None]:
    """Errors raised inside name the user's file ``name``, never the internal ``paths`` it was
    stored at (gradio's temporary folder, the session folder): each path, and its folder, is cut
    from the message. ``cleanup`` (the job folder) is removed when the block fails, so a refused
    upload leaves nothing in the session folder."""
    try:
        yield
    except (ValueError, OSError) as exc:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)
        text = " ".join(str(exc).split())
        files = {str(x) for p in paths for x in (Path(p), Path(p).resolve())}
        folders = {str(Path(f).parent) + os.sep for f in files}
        for s in sorted(files, key=len, reverse=True):
            text = text.replace(s, name)
        for s in sorted(folders, key=len, reverse=True):
            text = text.replace(s, "")
        for base in {Path(p).name for p in paths} - {name}:  # a copy's own name ("avatar.vrm")
            text = re.sub(rf"(?<![\w.-]){re.escape(base)}(?![\w.-])", lambda _: name, text)
        if paths and name not in text:  # the reader named its file some other way (or not at all)
            text = f"upload '{name}': {text}"
        raise ValueError(text or type(exc).__name__) from None
    except BaseException:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)
        raise



_SERVER_PATH = re.compile(r"(?<![\w.:/~-])(?:~|\.{1,2})?/(?:[^\s'\"`/]+/)+([^\s'\"`/]*)")


def scrub_paths(line: str) -> str:
    """``line`` with every absolute (or ``~``/``./``) file path cut to its last part: a page never shows
    the server's folders (``/root/.cache/.../unet/config.json`` -> ``config.json``). URLs are kept."""
    return _SERVER_PATH.sub(lambda m: m.group(1) or "", line)


def escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


# -- characters and bodies (cached per file version) --------------------------------------------
def file_key(path: str | os.PathLike) -> tuple[str, int, int]:
    p = Path(path).resolve()
    st = p.stat()
    return str(p), st.st_mtime_ns, st.st_size


_CHARACTERS: dict[tuple[str, int, int], object] = {}  # file version -> Character, newest last
_CHARACTERS_LOCK = threading.Lock()
_CHARACTERS_MAX = 4


def remember_character(key: tuple[str, int, int], character) -> None:
    with _CHARACTERS_LOCK:
        _CHARACTERS.pop(key, None)
        _CHARACTERS[key] = character
        while len(_CHARACTERS) > _CHARACTERS_MAX:
            _CHARACTERS.pop(next(iter(_CHARACTERS)))


def _character_cached(key: tuple[str, int, int]):
    with _CHARACTERS_LOCK:
        hit = _CHARACTERS.get(key)
    if hit is not None:
        remember_character(key, hit)
        return hit
    from kyara.avatar import load_character

    c = load_character(key[0])
    remember_character(key, c)
    return c


@functools.lru_cache(maxsize=4)
def _body_cached(key: tuple[str, int, int] | None):
    if key is None:
        from kyara.body.model import build_body

        return build_body(DEFAULT_BODY)
    from kyara.avatar import character_body

    return character_body(_character_cached(key))


def load_character(path: str | os.PathLike):
    """The character of a ``character.json`` / ``.vrm`` / ``.glb`` (built once per file version)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"character '{p.name}' does not exist, expected a file (create one first)")
    return _character_cached(file_key(p))


def load_body(character: str | os.PathLike | None):
    """The renderable body: the character's adapter, or the bare ``teen-girl`` body when None."""
    return _body_cached(None if character is None else file_key(character))


def preset_pose(name: str, body):
    from kyara.body.model import Body
    from kyara.pose.presets import POSE_NAMES, get_pose

    if name not in POSE_NAMES:
        raise ValueError(f"unknown pose '{name}', expected one of {', '.join(POSE_NAMES)}")
    if isinstance(body, Body):
        return get_pose(name, body.params)
    from kyara.avatar import avatar_pose

    return avatar_pose(name, body)



def import_avatar(ws: Workspace, path: str | os.PathLike) -> Path:
    """Copy an uploaded ``.vrm``/``.glb``/``character.json`` into the session and load it once
    (a malformed file raises here, not later, naming the user's file; its copy is removed)."""
    src = Path(path)
    d = ws.job_dir("avatar")
    # the copy keeps the user's name when it is a plain one (it shows in downloads and messages)
    plain = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,100}", src.stem) is not None
    dst = d / ((src.stem if plain else "character" if src.suffix.lower() == ".json" else "avatar")
               + src.suffix.lower())
    with as_upload(src.name, src, dst, cleanup=d):
        shutil.copyfile(src, dst)
        load_character(dst)
    return dst


RANDOM_SEED = -1  # the seed field's "draw one for me", as in AUTOMATIC1111
SEED_MAX = 2**63 - 1


def resolve_seed(seed, default: int = 0) -> int:
    """A seed field's value -> the seed to use: ``-1`` draws a fresh one (``0..2**32-1``, unseeded,
    so the result can be shown and typed in again), ``None`` is ``default``; anything else must be an
    integer ``0..2**63-1`` (``ValueError`` naming the value otherwise)."""
    import secrets

    if seed is None:
        return int(default)
    try:
        f = float(seed)
    except (TypeError, ValueError):
        f = float("nan")
    if f == RANDOM_SEED:
        return secrets.randbelow(2**32)
    if not f.is_integer() or not 0 <= f <= SEED_MAX:
        raise ValueError(f"seed {seed!r} is not valid, expected an integer >= 0, or -1 for a random seed")
    return int(f)
