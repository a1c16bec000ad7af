"""Layers point one way, and bad input is reported before zeep is loaded."""
import subprocess
import sys

from tests.import_graph import LAYERS, imports, layer_of


def test_every_module_has_a_layer():
    placed = {module for layer in LAYERS for module in layer}
    assert set(imports()) == placed, "place new modules in tests/import_graph.py LAYERS"


def test_no_module_imports_one_of_its_own_or_a_higher_layer():
    upward = [(module, target) for module, targets in imports().items() for target in targets
              if layer_of(target) <= layer_of(module)]
    assert upward == []


def test_bad_input_is_reported_before_zeep_or_lxml_is_imported(tmp_path):
    good = tmp_path / "config.json"
    good.write_text('{"username": "a", "password": "b", "start_date": "2024-01-01"}')
    (tmp_path / "catalog.json").write_text('{"streams": "all"}')
    (tmp_path / "state.json").write_text("[1]")
    for args in (["--config", str(tmp_path / "missing.json")],
                 ["--config", str(good), "--catalog", str(tmp_path / "catalog.json")],
                 ["--config", str(good), "--state", str(tmp_path / "state.json")]):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "tap_listrak.cli", *args],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 1 and "CRITICAL" in done.stderr
        loaded = [line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")]
        assert loaded and not [name for name in loaded if name.split(".")[0] in ("zeep", "lxml")]


def test_the_design_notes_draw_todays_import_graph():
    from pathlib import Path

    from tests.import_graph import mermaid

    notes = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "```mermaid\n" + mermaid() + "\n```" in notes, "paste `python -m tests.import_graph` into docs/architecture.md"
