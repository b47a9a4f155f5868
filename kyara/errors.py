"""Error types shared by the library and the command line.

Library functions raise ``ValueError`` (bad value), ``FileNotFoundError`` (missing input) or
one of the subclasses below. The CLI turns each into one line ``error: ...`` and exit code 2.
"""

from __future__ import annotations


class KyaraError(ValueError):
    """A problem with the user's input: a bad value, a malformed file, an unsupported option."""


class RenderBackendError(RuntimeError):
    """No rendering context could be created (missing EGL/GL libraries, no display)."""
