"""Entry point of the ``kyara`` command.

Commands live in ``kyara/cli/cmd_*.py``; each module has ``register(app)``. They are discovered
here so that adding a command never touches this file.

Error contract: every bad input, including click/typer usage errors, ends as exactly one line
``error: ...`` on stderr with exit code 2; unexpected internal failures print one line and exit 1.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from typing import Sequence

import typer

try:  # typer >= 0.29 vendors click as typer._click and raises its own exception classes
    from typer import _click as click
except ImportError:  # pragma: no cover - older typer depends on click
    import click  # type: ignore[no-redef]

from kyara.errors import RenderBackendError

app = typer.Typer(
    name="kyara",
    help="Anime characters: parametric bodies, poses, condition maps, avatars.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Anime characters: parametric bodies, poses, condition maps, avatars."""


def _register_commands() -> None:
    import kyara.cli as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            module = importlib.import_module(f"kyara.cli.{info.name}")
            module.register(app)


_register_commands()


def _one_line(msg: object) -> str:
    text = " ".join(str(msg).split())
    return text if text else "unknown error"


def _fail(msg: object, code: int) -> int:
    sys.stderr.write(f"error: {_one_line(msg)}\n")
    sys.stderr.flush()
    return code


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code (no ``SystemExit``)."""
    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = command.main(args=args, prog_name="kyara", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError:  # bare `kyara`: a usage error like any other
        return _fail("missing command, see 'kyara --help'", 2)
    except click.exceptions.UsageError as exc:
        return _fail(exc.format_message(), 2)
    except typer.Abort:
        return _fail("aborted", 130)
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except (ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        return _fail(exc, 2)
    except RenderBackendError as exc:
        return _fail(exc, 2)
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, exit 1
        if os.environ.get("KYARA_DEBUG"):
            raise
        return _fail(f"internal error ({type(exc).__name__}): {exc}", 1)
    return int(rv or 0) if isinstance(rv, int) else 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
