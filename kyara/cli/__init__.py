"""The ``kyara`` command line. Each ``cmd_*.py`` module here registers its commands."""
