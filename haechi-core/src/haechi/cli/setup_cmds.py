"""``haechi init``, ``haechi status`` and ``haechi config``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from rich.table import Table

from haechi.cli.common import add_config_argument
from haechi.cli.console import Output
from haechi.config import default_config_dict
from haechi.crypto.keyfile import (
    create_key_file,
    key_file_permissions,
    load_key_file,
    rotate_key_file,
)
from haechi.fsutil import write_json_atomic
from haechi.runtime import Runtime

__all__ = ["ConfigGuideCommand", "InitCommand", "StatusCommand"]

INIT_WARNINGS = (
    "The generated key file is for local development only; do not use it to protect "
    "production data.",
    "Core ships no KMS/HSM/Vault key provider; install haechi-crypto-kms for KMS-backed key "
    "custody (keys.provider: external).",
)


class InitCommand:
    NAME = "init"
    SUMMARY = "Create the default config and a local key file (--force rotates the key)"
    USAGE = "[--config P] [--force]"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_config_argument(parser)
        parser.add_argument("--force", action="store_true",
                            help="overwrite the config and rotate the key")

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        config_path = Path(args.config)
        created = args.force or not config_path.exists()
        if created:
            write_json_atomic(config_path, default_config_dict(), mode=0o644)
        config = Runtime.load(config_path, pm=pm).config
        key_file = Path(config.keys.key_file)
        if config.keys.provider == "local":
            if not key_file.exists():
                create_key_file(key_file)
            elif args.force:
                rotate_key_file(key_file)
            else:
                load_key_file(key_file, require_active=True)
        report = {
            "ok": True,
            "command": "init",
            "configPath": str(config_path),
            "created": created,
            "keyFile": str(key_file),
            "auditPath": config.audit.path,
            "mode": config.effective_mode,
            "warnings": list(INIT_WARNINGS),
        }
        if output.json_mode:
            output.json(report)
        else:
            verb = "wrote" if created else "kept"
            output.out.print(f"{verb} {config_path}; key file {key_file}; audit log "
                             f"{config.audit.path}; mode {config.effective_mode}")
            for warning in INIT_WARNINGS:
                output.warn(warning)
        return 0


class StatusCommand:
    NAME = "status"
    SUMMARY = "Show what is and is not protected under the current config"
    USAGE = "[--config P] [--json]"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_config_argument(parser)

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        runtime = Runtime.load(args.config, pm=pm)
        report = status_report(runtime)
        if output.json_mode:
            output.json(report)
            return 0
        table = Table(title=f"Haechi status ({args.config})")
        table.add_column("setting")
        table.add_column("value")
        protection = report["protection"]
        table.add_row("policy mode", protection["policyMode"])
        table.add_row("response protection",
                      "on" if protection["responseProtection"]["enabled"] else "off")
        table.add_row("streaming requests", protection["streamingRequestMode"])
        table.add_row("target", f"{report['target']['type']} -> {report['target']['upstream']}")
        table.add_row("privacy profile", str(report["privacyProfile"]))
        table.add_row("key file", f"{report['keys']['keyFile']} "
                                  f"({report['keys']['permissions'] or 'missing'})")
        chain = report["audit"]["chain"]
        table.add_row("audit chain", "absent" if chain is None else
                      ("valid" if chain["valid"] else f"INVALID: {chain['reason']}"))
        output.out.print(table)
        for warning in report["warnings"]:
            output.warn(warning)
        return 0


def status_report(runtime: Runtime) -> dict[str, Any]:
    from haechi.audit import verify_audit_chain
    from haechi.crypto.nonce_budget import read_nonce_budget
    from haechi.proxy.status import proxy_status

    config = runtime.config
    warnings: list[str] = []
    mode = config.effective_mode
    if mode != "enforce":
        warnings.append(f"policy mode is {mode}: payloads are detected and audited but not "
                        'modified or blocked. Set policy.mode to "enforce" to protect them.')
    rp = config.response_protection
    if not rp.enabled:
        warnings.append("responseProtection.enabled is false: upstream responses are not "
                        "inspected.")
    if config.streaming.request_mode == "pass-through":
        warnings.append("streaming.requestMode is pass-through: streamed responses are "
                        "forwarded without inspection.")
    tv = config.token_vault
    if tv.reveal_policy != "disabled":
        warnings.append(f"tokenVault.revealPolicy is {tv.reveal_policy}: tokens can be "
                        "revealed with 'haechi token-reveal'.")
    if tv.detokenize_responses and not rp.enabled:
        warnings.append("tokenVault.detokenizeResponses has no effect while "
                        "responseProtection.enabled is false.")

    key_file = config.keys.key_file
    exists = os.path.exists(key_file)
    permissions = key_file_permissions(key_file) if exists else None
    budget = None
    if config.keys.provider == "local":
        if not exists:
            warnings.append(f"key file {key_file} is missing: run 'haechi init'.")
        elif permissions != "0600":
            warnings.append(f"key file {key_file} has permissions {permissions} "
                            "(expected 0600): it is group or world accessible.")
        if exists:
            raw = read_nonce_budget(key_file)
            budget = {
                "kid": raw["kid"], "used": raw["used"], "limit": raw["limit"],
                "remaining": raw["remaining"],
                "usedPercent": round(raw["usedFraction"] * 100, 1),
                "exhausted": raw["exhausted"],
            }
            if raw["exhausted"]:
                warnings.append(f"the nonce budget of key {raw['kid']} is exhausted: rotate "
                                "the key with 'haechi init --force'.")
            elif raw["usedFraction"] >= 0.5:
                warnings.append(f"key {raw['kid']} has used {budget['usedPercent']}% of its "
                                "nonce budget: plan a rotation with 'haechi init --force'.")

    audit = config.audit
    anchor = audit.anchor
    anchor_path = anchor.path if anchor.mode == "file" else None
    audit_exists = os.path.exists(audit.path)
    chain = verify_audit_chain(audit.path, anchor_path=anchor_path) if audit_exists else None
    if chain is not None and not chain["valid"]:
        warnings.append(f"audit chain verification failed: {chain['reason']}")
    if anchor.mode == "none":
        warnings.append("audit.anchor.mode is none: tail truncation of the audit log cannot "
                        "be detected.")
    elif anchor.mode == "file":
        warnings.append("audit.anchor.mode is file: keep the anchor on separate, append-only "
                        "media, or an attacker can truncate both files together.")

    return {
        "ok": True,
        "command": "status",
        "configPath": runtime.config_path,
        "protection": {
            "policyMode": mode,
            "enforced": mode == "enforce",
            "responseProtection": {"enabled": rp.enabled, "mode": rp.mode,
                                   "failureMode": rp.failure_mode},
            "streamingRequestMode": config.streaming.request_mode,
            "streamingResponseMode": config.streaming.response_mode,
        },
        "target": {"type": config.target.type, "adapter": config.target.adapter,
                   "upstream": config.target.upstream},
        "proxy": proxy_status(config),
        "tokenVault": {
            "revealPolicy": tv.reveal_policy,
            "retentionDays": tv.retention_days,
            "deterministic": tv.deterministic,
            "deterministicTypes": list(tv.deterministic_types)
            if tv.deterministic_types is not None else None,
            "detokenizeResponses": tv.detokenize_responses,
        },
        "privacyProfile": config.privacy.profile,
        "keys": {"provider": config.keys.provider, "keyFile": key_file, "exists": exists,
                 "permissions": permissions, "nonceBudget": budget},
        "audit": {"path": audit.path, "exists": audit_exists, "chain": chain,
                  "anchor": {"mode": anchor.mode, "path": anchor_path}},
        "warnings": warnings,
    }


class ConfigGuideCommand:
    NAME = "config"
    SUMMARY = "Print the configuration guide"
    USAGE = ""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        return None

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        defaults = default_config_dict()
        if output.json_mode:
            output.json({"ok": True, "command": "config", "defaults": defaults})
            return 0
        output.out.print("Haechi configuration (haechi.config.json). Every key is optional; "
                         "unknown keys and bad values refuse to start.")
        output.out.print("The full reference is docs/configuration.md. Defaults:")
        table = Table()
        table.add_column("key")
        table.add_column("default")
        for key, value in _flatten(defaults):
            table.add_row(key, value)
        output.out.print(table)
        output.out.print('Protect payloads: set "policy": {"mode": "enforce"}. Client auth: '
                         '"auth": {"provider": "bearer"}.')
        return 0


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    import json

    if isinstance(value, dict) and value and prefix.count(".") < 2:
        rows: list[tuple[str, str]] = []
        for key, item in value.items():
            rows.extend(_flatten(item, f"{prefix}.{key}" if prefix else key))
        return rows
    return [(prefix, json.dumps(value))]
