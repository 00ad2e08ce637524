"""``haechi help [command]``: text help. Not part of the API contract (the JSON outputs,
flags and exit codes are)."""

from __future__ import annotations

from collections.abc import Sequence

from haechi.cli.console import Output

__all__ = ["print_help"]


def print_help(output: Output, commands: dict[str, type], topic: Sequence[str]) -> int:
    if topic:
        name = topic[0]
        command = commands.get(name)
        if command is None:
            output.error(f"Unknown command: {name}. Run 'haechi help' for usage.")
            return 1
        output.out.print(f"haechi {name} — {command.SUMMARY}")
        output.out.print("Usage:")
        output.out.print(f"  haechi {name} {getattr(command, 'USAGE', '')}".rstrip())
        detail = getattr(command, "DETAIL", "")
        if detail:
            output.out.print()
            output.out.print(detail.strip())
        return 0
    output.out.print("Haechi — AI context enforcement gateway")
    output.out.print()
    output.out.print("Usage: haechi <command> [options]   (every command accepts --json)")
    output.out.print()
    width = max(len(name) for name in commands)
    for name, command in commands.items():
        output.out.print(f"  {name.ljust(width)}  {command.SUMMARY}")
    output.out.print()
    output.out.print("Run 'haechi help <command>' for one command, 'haechi config' for the "
                     "configuration guide.")
    return 0
