"""The import graph of the tap's modules, and the layers it must respect.

`python -m tests.import_graph` prints it as a Mermaid graph (pasted in docs/architecture.md);
tests/unit/test_layers.py holds every arrow pointing down a layer.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tap_listrak"
# Top to bottom: a module may import only modules of lower layers.
LAYERS = (
    ("cli",),
    ("rest_probe",),
    ("sync", "discover", "about", "probe"),
    ("parents", "runner"),
    ("plan",),
    ("client", "rest_client", "catalog", "state", "output", "progress", "concurrency"),
    ("api",),
    ("exchange", "rest_replies"),
    ("replies", "tokens", "slots", "transform", "config", "envelopes", "spool", "transport", "retry",
     "metrics"),
    ("streams", "redaction", "errors"),
    ("__init__",),
)


def imports() -> dict[str, set[str]]:
    """module → the tap's modules it imports (anywhere in its body, deferred imports included)."""
    graph = {}
    for path in sorted(PACKAGE.glob("*.py")):
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tap_listrak"):
                parts = node.module.split(".")
                if len(parts) > 1:
                    targets.add(parts[1])
                else:  # from tap_listrak import x: a module, or a name of the package itself
                    targets.update(a.name if (PACKAGE / f"{a.name}.py").exists() else "__init__" for a in node.names)
            elif isinstance(node, ast.Import):
                targets.update(a.name.split(".")[1] for a in node.names if a.name.startswith("tap_listrak."))
        graph[path.stem] = targets - {path.stem}
    return graph


def layer_of(module: str) -> int:
    return next(index for index, layer in enumerate(LAYERS) if module in layer)


def mermaid() -> str:
    lines = ["graph TD"]
    for module, targets in sorted(imports().items(), key=lambda item: (layer_of(item[0]), item[0])):
        lines += [f"    {module} --> {target}" for target in sorted(targets, key=lambda name: (layer_of(name), name))]
    return "\n".join(lines)


if __name__ == "__main__":
    print(mermaid())
