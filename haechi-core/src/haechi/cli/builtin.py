"""Registers the built-in ``haechi`` sub-commands."""

from __future__ import annotations

from haechi.hookspecs import hookimpl

__all__ = ["haechi_register_cli_commands"]


@hookimpl
def haechi_register_cli_commands(register):
    from haechi.cli.audit_cmds import AuditVerifyCommand, ReportCommand
    from haechi.cli.mcp_cmds import McpStdioCommand, McpWrapCommand
    from haechi.cli.plugins_cmd import PluginsCommand
    from haechi.cli.policy_cmds import PolicySignCommand, PolicyVerifyCommand
    from haechi.cli.protect_cmds import ProtectCommand, ScanCommand
    from haechi.cli.proxy_cmd import ProxyCommand
    from haechi.cli.setup_cmds import ConfigGuideCommand, InitCommand, StatusCommand
    from haechi.cli.token_cmds import TokenExportCommand, TokenPurgeCommand, TokenRevealCommand

    for command in (
        InitCommand, ProtectCommand, ScanCommand, ReportCommand, StatusCommand,
        AuditVerifyCommand, PolicySignCommand, PolicyVerifyCommand, TokenRevealCommand,
        TokenPurgeCommand, TokenExportCommand, ConfigGuideCommand, PluginsCommand,
        McpStdioCommand, McpWrapCommand, ProxyCommand,
    ):
        register(command)
