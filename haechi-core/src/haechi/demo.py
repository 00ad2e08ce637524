"""The README demo: ``scripts/demo``. Runs the real ``haechi`` command in a fresh working
directory — init, enforce mode, protect a bundled chat payload, a blocked card payload,
report, audit-verify — and shows that the audit log holds none of the raw values.
No server or network is needed. ``--keep`` keeps the working directory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.json import JSON
from rich.panel import Panel
from rich.table import Table

__all__ = ["main"]

console = Console(markup=False, emoji=False, highlight=False)

RAW_VALUES = ("minji.kim@example.com", "010-1234-5678", "GB82WEST12345698765432",
              "+442079460958", "jae.lee@example.org", "4111 1111 1111 1111")


def haechi(workdir: Path, *args: str) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-m", "haechi", *args, "--json"], cwd=workdir,
                          capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 3):
        console.print(proc.stderr)
        raise SystemExit(f"demo: 'haechi {' '.join(args)}' failed ({proc.returncode})")
    return proc.returncode, json.loads(proc.stdout)


def step(title: str) -> None:
    console.rule(title)


def main() -> int:
    keep = "--keep" in sys.argv[1:]
    workdir = Path(tempfile.mkdtemp(prefix="haechi-demo-"))
    try:
        return run_demo(workdir)
    finally:
        if keep:
            console.print(f"kept {workdir} (haechi.config.json, .haechi/)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run_demo(workdir: Path) -> int:
    examples = resources.files("haechi") / "examples"
    for name in ("chat-payload.json", "card-payload.json"):
        (workdir / name).write_bytes((examples / name).read_bytes())
    console.print(Panel(f"Haechi demo in {workdir}", expand=False))

    step("1. haechi init")
    _, init = haechi(workdir, "init")
    console.print(f"config {init['configPath']}, key file {init['keyFile']} (0600), "
                  f"audit log {init['auditPath']}")
    config_path = workdir / "haechi.config.json"
    config = json.loads(config_path.read_text())
    config["policy"]["mode"] = "enforce"
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    console.print('policy.mode set to "enforce"')

    step("2. haechi protect chat-payload.json")
    console.print("Input:")
    console.print(JSON((workdir / "chat-payload.json").read_text()))
    _, protected = haechi(workdir, "protect", "chat-payload.json")
    table = Table(title="Detections")
    for column in ("type", "count"):
        table.add_column(column)
    for type_, count in sorted(protected["summary"]["byType"].items()):
        table.add_row(type_, str(count))
    console.print(table)
    console.print("Protected payload (what the model would receive):")
    console.print(JSON(json.dumps(protected["payload"])))

    step("3. haechi protect card-payload.json")
    code, blocked = haechi(workdir, "protect", "card-payload.json")
    console.print(f"exit {code}, blocked={blocked['blocked']}, payload={blocked['payload']}")

    step("4. haechi report")
    _, report = haechi(workdir, "report")
    console.print(JSON(json.dumps(report["summary"])))

    step("5. haechi audit-verify")
    _, verify = haechi(workdir, "audit-verify")
    result = verify["result"]
    console.print(f"valid={result['valid']} records={result['records']} "
                  f"head={result.get('headHash')}")
    audit_text = (workdir / init["auditPath"]).read_text()
    leaked = [value for value in RAW_VALUES if value in audit_text]
    console.print("raw values in the audit log: " + ("NONE" if not leaked else str(leaked)))
    return 1 if leaked or not result["valid"] else 0


if __name__ == "__main__":
    sys.exit(main())
