"""``haechi plugins``: every loaded plugin, its distribution, version and hooks."""

from __future__ import annotations

import argparse

from rich.table import Table

from haechi.cli.console import Output
from haechi.plugins import describe_plugins

__all__ = ["PluginsCommand"]


class PluginsCommand:
    NAME = "plugins"
    SUMMARY = "List loaded plugins with their distribution, version and hooks"
    USAGE = "[--json]"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        return None

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        infos = describe_plugins(pm)
        if output.json_mode:
            output.json({
                "ok": True,
                "command": "plugins",
                "plugins": [
                    {
                        "name": info.name,
                        "distribution": info.distribution,
                        "version": info.version,
                        "builtin": info.builtin,
                        "hooks": list(info.hooks),
                    }
                    for info in infos
                ],
            })
            return 0
        table = Table(title="Haechi plugins")
        for column in ("plugin", "distribution", "version", "hooks"):
            table.add_column(column)
        for info in infos:
            table.add_row(info.name, info.distribution, info.version, "\n".join(info.hooks))
        output.out.print(table)
        return 0
