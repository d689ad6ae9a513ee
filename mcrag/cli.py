"""The ``mcrag`` command line: one Typer app with a sub-app (or command) per area.

Errors a user can fix (bad input, a missing store or model) print one clear line and exit with 2;
nothing else prints a traceback.
"""

from __future__ import annotations

import difflib
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
    from mcrag.commands import curate, data, evaluate, graph, mine, pipeline, serve, validate, vlm, whatif
    from mcrag.commands import kg as kg_cmd

    app.add_typer(kg_cmd.app, name="kg")
    app.command("serve")(serve.serve)
    for module in (mine, validate, graph, curate, whatif, vlm, evaluate, pipeline, data):
        module.register(app)


_register()


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def usage_line(err: Exception) -> str:
    """A click usage error as one line: what was wrong, the suggestion click found, where to read more."""
    message = err.format_message() if hasattr(err, "format_message") else str(err)
    message = " ".join(message.split())
    ctx = getattr(err, "ctx", None)
    if message.startswith("No such command") and "Did you mean" not in message and ctx is not None:
        wanted = message.split("'")[1] if message.count("'") >= 2 else ""
        nested = _nested_commands(ctx.command, ctx.command_path)
        close = difflib.get_close_matches(wanted, list(nested), n=1, cutoff=0.7)
        if close:
            message += f" Did you mean '{nested[close[0]]}'?"
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return f"error: {message}{where}"


def _nested_commands(group: object, path: str) -> dict[str, str]:
    """Sub-commands one level down (``query`` -> ``mcrag kg query``), for suggestions at the top level."""
    out: dict[str, str] = {}
    for name, cmd in (getattr(group, "commands", None) or {}).items():
        for sub in (getattr(cmd, "commands", None) or {}):
            out.setdefault(sub, f"{path} {name} {sub}")
    return out


def _is_click_error(err: BaseException) -> bool:
    """Click's exceptions, whether from click itself or the copy Typer ships."""
    return any(cls.__name__ == "ClickException" for cls in type(err).__mro__)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: every mistake a user can fix is one line on stderr and exit code 2."""
    try:
        rc = app(args=argv, prog_name="mcrag", standalone_mode=False)
    except USER_ERRORS as err:
        typer.secho(f"error: {' '.join(str(err).split()) or type(err).__name__}", err=True, fg=typer.colors.RED)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as err:
        if _is_click_error(err):
            is_usage = any(cls.__name__ == "UsageError" for cls in type(err).__mro__)
            typer.secho(usage_line(err) if is_usage else f"error: {err.format_message()}",  # type: ignore[attr-defined]
                        err=True, fg=typer.colors.RED)
            sys.exit(2 if is_usage else int(getattr(err, "exit_code", 1)))
        raise
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
