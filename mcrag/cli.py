"""The ``mcrag`` command line: one Typer app with a sub-app (or command) per area.

Errors a user can fix (bad input, a missing store or model) print one clear line and exit with 2;
nothing else prints a traceback.
"""

from __future__ import annotations

import logging
import sys

import typer

from mcrag.errors import USER_ERRORS
from mcrag.settings import offline_environment

offline_environment()

app = typer.Typer(name="mcrag", help="MCRAG: causal knowledge graphs that ground medical vision-language models.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)


def _register() -> None:
    """Attach each area's commands; every module named here owns its own sub-commands."""
    from mcrag.commands import curate, data, evaluate, mine, pipeline, serve, validate, vlm, whatif
    from mcrag.commands import kg as kg_cmd

    app.add_typer(kg_cmd.app, name="kg")
    app.command("serve")(serve.serve)
    for module in (mine, validate, curate, whatif, vlm, evaluate, pipeline, data):
        module.register(app)


_register()


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        rc = app(args=argv, standalone_mode=False)
    except USER_ERRORS as err:
        typer.secho(f"error: {err}", err=True, fg=typer.colors.RED)
        sys.exit(2)
    except typer.Abort:
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as err:  # click's own usage errors arrive here in non-standalone mode
        import click

        if isinstance(err, click.ClickException):
            err.show()
            sys.exit(2 if isinstance(err, click.UsageError) else err.exit_code)
        raise
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
