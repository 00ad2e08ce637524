"""The plugin manager: duplicate registry names, misspelt hooks, and the trust gate that is
consulted before an entry point's code is imported.

Entry points come from a real ``.dist-info`` written to a temporary directory on
``sys.path`` (or ``PYTHONPATH`` for a subprocess), so ``importlib.metadata`` discovers them
exactly as it discovers an installed distribution.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from haechi.errors import PluginError
from haechi.plugins import Registries, TrustGate, create_plugin_manager, describe_plugins

TEST_PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
TRIPWIRE = "haechi_test_tripwire"


def write_distribution(site: Path, dist: str, entry_points: dict[str, str]) -> None:
    """A minimal installed distribution with ``haechi`` entry points."""
    info = site / f"{dist.replace('-', '_')}-0.3.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3.1\n")
    lines = "".join(f"{name} = {module}\n" for name, module in entry_points.items())
    (info / "entry_points.txt").write_text(f"[haechi]\n{lines}")


@pytest.fixture
def test_plugins_on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(TEST_PLUGINS))
    yield
    sys.modules.pop(TRIPWIRE, None)


@pytest.fixture
def tripwire_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test_plugins_on_path) -> Path:
    write_distribution(tmp_path, "haechi-test-tripwire", {"tripwire": TRIPWIRE})
    monkeypatch.syspath_prepend(str(tmp_path))
    assert TRIPWIRE not in sys.modules
    return tmp_path


class RecordingGate(TrustGate):
    def __init__(self, *, refuse: bool) -> None:
        self.refuse = refuse
        self.seen: list[tuple[str, bool]] = []

    def admit(self, entry_point: importlib.metadata.EntryPoint) -> None:
        self.seen.append((entry_point.name, TRIPWIRE in sys.modules))
        if self.refuse and entry_point.name == "tripwire":
            raise PluginError(f"Plugin {entry_point.name!r} is not trusted")


def test_a_refusing_trust_gate_stops_the_plugin_before_its_import(tripwire_site):
    gate = RecordingGate(refuse=True)
    with pytest.raises(PluginError, match="'tripwire' is not trusted"):
        create_plugin_manager(trust_gate=gate)
    assert ("tripwire", False) in gate.seen
    assert TRIPWIRE not in sys.modules


def test_an_admitting_trust_gate_sees_each_entry_point_before_its_import(tripwire_site):
    gate = RecordingGate(refuse=False)
    pm = create_plugin_manager(trust_gate=gate)
    assert ("tripwire", False) in gate.seen  # consulted while not yet imported
    assert TRIPWIRE in sys.modules
    assert "tripwire" in Registries.collect(pm).detectors
    (info,) = [i for i in describe_plugins(pm) if i.name == "tripwire"]
    assert (info.distribution, info.version, info.builtin) == ("haechi-test-tripwire", "0.3.1",
                                                               False)
    assert info.hooks == ("haechi_register_detectors",)


def test_two_entry_points_with_one_name_stop_start_up(tripwire_site, tmp_path):
    write_distribution(tmp_path, "haechi-test-twin", {"tripwire": TRIPWIRE})
    with pytest.raises(PluginError, match="'tripwire' is used by two entry points"):
        create_plugin_manager()


def test_a_duplicate_detector_name_names_both_classes(test_plugins_on_path):
    plugin = importlib.import_module("haechi_test_duplicate_detector")
    pm = create_plugin_manager(load_entry_points=False, extra_plugins=[plugin])
    with pytest.raises(PluginError) as caught:
        Registries.collect(pm)
    message = str(caught.value)
    assert "Duplicate detector name 'builtin'" in message
    assert "haechi.detect.builtin.BuiltinDetector" in message
    assert "haechi_test_duplicate_detector.ImpostorDetector" in message


def test_a_duplicate_detector_from_an_entry_point_stops_the_cli(tmp_path):
    write_distribution(tmp_path, "haechi-test-impostor",
                       {"impostor": "haechi_test_duplicate_detector"})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(TEST_PLUGINS)])}
    proc = subprocess.run([sys.executable, "-m", "haechi", "scan", "-"], input=b"x",
                          cwd=tmp_path, env=env, capture_output=True, timeout=60, check=False)
    stderr = proc.stderr.decode()
    assert proc.returncode == 1, stderr
    assert stderr.startswith("haechi: Duplicate detector name 'builtin'")
    assert "BuiltinDetector" in stderr and "ImpostorDetector" in stderr
    assert "Traceback" not in stderr


def test_a_misspelt_hook_fails_check_pending(test_plugins_on_path):
    plugin = importlib.import_module("haechi_test_misspelt_hook")
    with pytest.raises(PluginError, match="haechi_register_detector"):
        create_plugin_manager(load_entry_points=False, extra_plugins=[plugin])


def test_the_builtins_alone_load_cleanly():
    pm = create_plugin_manager(load_entry_points=False)
    registries = Registries.collect(pm)
    assert set(registries.actions) == {"allow", "redact", "mask", "tokenize", "encrypt",
                                       "block"}
    assert "builtin" in registries.detectors
    assert "local" in registries.crypto_providers
    assert "jsonl" in registries.audit_sinks
    assert {"init", "protect", "scan", "plugins"} <= set(registries.cli_commands)
