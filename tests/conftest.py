"""Fixtures shared by the test files."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def gl():
    """The headless GL context; tests that render skip with the backend's one-line reason without it."""
    from kyara.errors import RenderBackendError
    from kyara.render.gl import get_context

    try:
        return get_context()
    except RenderBackendError as exc:
        pytest.skip(str(exc))
