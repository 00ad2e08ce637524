"""``haechi protect`` and ``haechi scan``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from haechi.cli.common import NON_ENFORCE_WARNING, add_config_argument
from haechi.cli.console import Output, dump_json
from haechi.errors import HaechiError
from haechi.jsonfile import read_json_file
from haechi.runtime import DEFAULT_CONFIG_PATH, Runtime
from haechi.scan import LineReport, ScanTotals, read_records, scan_records

__all__ = ["ProtectCommand", "ScanCommand"]

_PROGRESS_MIN_BYTES = 1 << 20


class ProtectCommand:
    NAME = "protect"
    SUMMARY = "Inspect and protect one JSON payload (exit 3 when blocked)"
    USAGE = "<input.json> [--config P] [--json]"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("input", help="JSON payload file")
        add_config_argument(parser)

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        runtime = Runtime.load(args.config, pm=pm)
        document = read_json_file(args.input, "input")
        context = runtime.cli_context("cli protect")
        _, policy = runtime.policies.resolve((), {})
        result = runtime.protector.protect(document, context, policy)
        warnings = [] if result.enforced else [NON_ENFORCE_WARNING.format(mode=result.mode)]
        report = {
            "ok": not result.blocked,
            "mode": result.mode,
            "enforced": result.enforced,
            "blocked": result.blocked,
            "auditId": result.audit_id,
            "summary": result.summary,
            "payload": result.payload,
            "warnings": warnings,
        }
        if output.json_mode:
            output.json(report)
        else:
            _print_protect(output, result, report)
        return 3 if result.blocked else 0


def _print_protect(output: Output, result, report: dict) -> None:
    table = Table(title=f"Detections ({result.mode})")
    for column in ("type", "rule", "path", "kind", "action"):
        table.add_column(column)
    for decided in result.findings:
        f = decided.finding
        table.add_row(f.type, f.rule_id, f.path_text, f.kind, decided.action)
    output.out.print(table)
    if result.blocked:
        output.out.print("BLOCKED: the payload was refused by policy (exit 3).")
    else:
        # Printed as text: dump_json escapes what a terminal cannot encode (lone
        # surrogates), which re-rendering through rich.json would undo.
        output.out.print(dump_json(result.payload))
    output.out.print(f"audit id: {result.audit_id}")
    for warning in report["warnings"]:
        output.warn(warning)


class ScanCommand:
    NAME = "scan"
    SUMMARY = "Scan text, JSON or JSON-lines input and list detections (exit 3 when found)"
    USAGE = "[FILE ...|-] [--jsonl] [--direction request|response] [--config P] [--json]"
    DETAIL = (
        "Each detection is reported with its type, ruleId, path, start, end and confidence -\n"
        "never the value. Without --jsonl, an input that parses as JSON is one record and any\n"
        "other input is scanned line by line. A JSON-lines line that does not parse is\n"
        "scanned as text. Uses the configuration's custom rules and precision filters when\n"
        "the config file exists (the built-in defaults otherwise)."
    )

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("inputs", nargs="*", default=["-"], metavar="FILE",
                            help="files to scan; - for standard input (default)")
        parser.add_argument("--jsonl", action="store_true", help="inputs are JSON lines")
        parser.add_argument("--direction", choices=("request", "response"), default="request")
        add_config_argument(parser)

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        runtime = _scan_runtime(args.config, pm)
        totals = ScanTotals()
        reports: list[dict] = []
        table = Table(title="Detections")
        for column in ("source", "line", "type", "rule", "path", "start", "end", "conf."):
            table.add_column(column)
        with _Progress(output, args.inputs) as progress:
            for source, stream in progress.streams():
                jsonl = args.jsonl or source.endswith((".jsonl", ".ndjson"))
                for line_report in scan_records(
                    read_records(source, stream, jsonl=jsonl),
                    runtime.engine,
                    direction=args.direction,
                    max_depth=runtime.config.limits.max_nesting_depth,
                    allowlist=tuple((e.value, e.path) for e in runtime.config.filters.allowlist),
                    min_confidence=runtime.config.filters.min_confidence,
                    totals=totals,
                ):
                    if line_report.findings:
                        _collect(line_report, reports, table, output.json_mode)
        found = totals.detections > 0
        if output.json_mode:
            output.json({"ok": not found, "command": "scan", "direction": args.direction,
                         "results": reports, "summary": totals.as_json()})
        else:
            if found:
                output.out.print(table)
            summary = Table(title="Summary")
            summary.add_column("type")
            summary.add_column("detections", justify="right")
            for type_, count in sorted(totals.by_type.items()):
                summary.add_row(type_, str(count))
            output.out.print(summary)
            output.out.print(
                f"{totals.records} records scanned, {totals.records_with_findings} with "
                f"findings, {totals.detections} detections"
                + (f", {totals.unparsed_lines} JSON lines scanned as text"
                   if totals.unparsed_lines else "")
            )
        return 3 if found else 0


def _collect(report: LineReport, reports: list[dict], table: Table, json_mode: bool) -> None:
    if json_mode:
        reports.append(report.as_json())
        return
    for f in report.findings:
        table.add_row(report.source, str(report.line), f.type, f.rule_id, f.path_text,
                      str(f.start), str(f.end), f"{f.confidence:.2f}")


def _scan_runtime(config_path: str, pm) -> Runtime:
    """The configured runtime; the built-in defaults when the default config file is
    absent (scanning is offline and read-only). An explicit missing path is an error."""
    if config_path == DEFAULT_CONFIG_PATH and not os.path.exists(config_path):
        from haechi.runtime import default_runtime

        return default_runtime(pm)
    return Runtime.load(config_path, pm=pm)


class _Progress:
    """Opens the inputs in order and shows a byte progress bar on stderr for large inputs
    when stderr is a terminal."""

    def __init__(self, output: Output, inputs: list[str]) -> None:
        self._inputs = inputs
        sizes = [os.path.getsize(p) if p != "-" and os.path.isfile(p) else 0 for p in inputs]
        missing = [p for p in inputs if p != "-" and not os.path.isfile(p)]
        if missing:
            raise HaechiError(f"Input file not found: {missing[0]}")
        self._total = sum(sizes)
        self._bar = None
        if self._total >= _PROGRESS_MIN_BYTES and output.err.is_terminal:
            self._bar = Progress(TextColumn("scanning"), BarColumn(), DownloadColumn(),
                                 TimeRemainingColumn(), console=output.err, transient=True)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task("scan", total=self._total)
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def streams(self) -> Iterator[tuple[str, object]]:
        for path in self._inputs:
            if path == "-":
                yield "-", sys.stdin.buffer
                continue
            with open(path, "rb") as handle:
                yield path, (self._bar.wrap_file(handle, total=os.path.getsize(path),
                                                 task_id=self._task)
                             if self._bar is not None else handle)
