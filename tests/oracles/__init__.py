"""Reference implementations the tests compare against (loaded from third-party files, not vendored)."""
