"""``haechi report`` and ``haechi audit-verify``."""

from __future__ import annotations

import argparse
import os

from rich.table import Table

from haechi.audit import read_audit_summary, verify_audit_chain
from haechi.cli.common import add_config_argument
from haechi.cli.console import Output
from haechi.errors import HaechiError
from haechi.runtime import Runtime

__all__ = ["AuditVerifyCommand", "ReportCommand"]

DEFAULT_AUDIT_PATH = ".haechi/audit.jsonl"


class ReportCommand:
    NAME = "report"
    SUMMARY = "Summarize audit events (counts only, never values)"
    USAGE = "[--audit P | --path P] [--json]"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--audit", "--path", dest="audit", default=DEFAULT_AUDIT_PATH,
                            metavar="P", help=f"audit log (default {DEFAULT_AUDIT_PATH})")

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        summary = read_audit_summary(args.audit)
        if output.json_mode:
            output.json({"ok": True, "auditPath": args.audit, "summary": summary})
            return 0
        table = Table(title=f"Audit report: {args.audit}")
        table.add_column("measure")
        table.add_column("count", justify="right")
        for key in ("events", "blocked", "detections"):
            table.add_row(key, str(summary[key]))
        for group in ("byType", "byAction"):
            for name, count in sorted(summary[group].items()):
                table.add_row(f"{group}.{name}", str(count))
        output.out.print(table)
        return 0


class AuditVerifyCommand:
    NAME = "audit-verify"
    SUMMARY = "Verify the audit hash chain (exit 4 when tampered or truncated)"
    USAGE = "[--audit P] [--anchor [P]] [--config P] [--json]"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--audit", default=None, metavar="P")
        parser.add_argument("--anchor", nargs="?", const=True, default=None, metavar="P")
        add_config_argument(parser)

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        audit_path, anchor_path = args.audit, args.anchor
        if audit_path is None or anchor_path is True:
            config = Runtime.load(args.config, pm=pm).config
            audit_path = audit_path or config.audit.path
            if anchor_path is True:
                anchor = config.audit.anchor
                anchor_path = anchor.path if anchor.mode == "file" else None
        if not os.path.exists(audit_path):
            raise HaechiError(f"Audit log not found: {audit_path}")
        result = verify_audit_chain(audit_path, anchor_path=anchor_path)
        report = {"ok": result["valid"], "command": "audit-verify", "auditPath": audit_path,
                  "anchorPath": anchor_path, "result": result}
        if output.json_mode:
            output.json(report)
        elif result["valid"]:
            output.out.print(f"audit chain valid: {result['records']} records, head "
                             f"{result['headHash']}")
        else:
            output.out.print(f"audit chain INVALID after {result['records']} records: "
                             f"{result['reason']}")
        return 0 if result["valid"] else 4
