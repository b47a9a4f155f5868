"""Error types shared by the library and the command line.

Library functions raise ``ValueError`` (bad value), ``FileNotFoundError`` (missing input) or
one of the subclasses below. The CLI turns each into one line ``error: ...`` and exit code 2.
"""

from __future__ import annotations


class KyaraError(ValueError):
    """A problem with the user's input: a bad value, a malformed file, an unsupported option."""


class RenderBackendError(RuntimeError):
    """No rendering context could be created (missing EGL/GL libraries, no display)."""


EXTRAS_COMMAND = "make extras"


def missing_extra(what: str, extra: str, packages: str) -> KyaraError:
    """The one-line error for an optional extra that is not installed, naming the command that installs it.

    ``what`` is the capability ("image generation"), ``extra`` the pyproject extra ("diffusion"),
    ``packages`` what it brings ("torch, diffusers, transformers").
    """
    return KyaraError(f"{what} needs the '{extra}' extra ({packages}), which is not installed: "
                      f"run `{EXTRAS_COMMAND}` in kyara's folder (or pip install 'kyara[{extra}]')")


def require_extra(modules: tuple[str, ...], what: str, extra: str, packages: str) -> None:
    """Raise :func:`missing_extra` when any of ``modules`` cannot be imported (checked without importing)."""
    import importlib.util

    for name in modules:
        if importlib.util.find_spec(name) is None:
            raise missing_extra(what, extra, packages)
