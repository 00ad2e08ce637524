"""The ``haechi`` command. Sub-commands are registered classes (hook
``haechi_register_cli_commands``); the built-in ones live in :mod:`haechi.cli.builtin`.

Exit codes: 0 success, 1 error (``haechi: <message>`` on stderr), 2 invalid plugin manifest,
3 payload blocked or findings present (``protect``, ``scan``), 4 audit chain invalid.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence

from haechi.cli.console import Output
from haechi.errors import ConfigError, HaechiError

__all__ = ["main"]


class CommandLineError(HaechiError):
    """Bad command-line usage."""


class _Parser(argparse.ArgumentParser):
    """Usage errors become ``haechi: ...`` with exit 1, like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CommandLineError(f"{message}. Run 'haechi help' for usage.")


def build_parser(commands: dict[str, type]) -> argparse.ArgumentParser:
    parser = _Parser(prog="haechi", add_help=False)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name, command in commands.items():
        cmd_parser = sub.add_parser(name, help=command.SUMMARY, add_help=False,
                                    description=command.SUMMARY)
        cmd_parser.add_argument("--json", action="store_true", help="print JSON for machines")
        command.add_arguments(cmd_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    output = Output(force_json="--json" in args_list)
    try:
        return _run(args_list, output)
    except ConfigError as exc:
        for problem in exc.problems:
            output.error(problem)
        return 1
    except HaechiError as exc:
        output.error(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # An unexpected failure: its message could quote input, so only the type is shown.
        output.error(f"internal error ({type(exc).__name__}); run with HAECHI_DEBUG=1 for "
                     "a traceback")
        if os.environ.get("HAECHI_DEBUG") == "1":
            raise
        return 1


def _run(args_list: list[str], output: Output) -> int:
    from haechi.cli.help import print_help
    from haechi.plugins import Registries, create_plugin_manager

    pm = create_plugin_manager()
    commands = dict(Registries.collect(pm).cli_commands)
    # Start-up objects (modules, compiled configs) live until exit: move them out of the
    # collector's view, so collections during a large payload only walk the payload.
    gc.freeze()
    if not args_list or args_list[0] in ("help", "--help", "-h"):
        return print_help(output, commands, args_list[1:2])
    if args_list[0] not in commands:
        raise CommandLineError(
            f"Unknown command: {args_list[0]}. Run 'haechi help' for usage."
        )
    if "--help" in args_list[1:] or "-h" in args_list[1:]:
        return print_help(output, commands, args_list[:1])
    args = build_parser(commands).parse_args(args_list)
    return int(commands[args.command]().run(args, output, pm))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
