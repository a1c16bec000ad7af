"""Every third-party module that the code, the tests or the benchmark import is declared in
setup.py by the distribution that provides it, so that none arrives only because another
package happens to depend on it (and vanishes when that package changes its mind).

The tap's own modules need it in install_requires; tests/ and bench/ in install_requires or the
`test` extra. The tools the integration tests run (.venv-tools/) are pinned in the Makefile."""
from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"tap_listrak", "tests", "bench"}


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules(folder: str) -> dict[str, list[str]]:
    """Top-level third-party module name -> the files of `folder` that import it (at any depth)."""
    modules: dict[str, list[str]] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:  # relative imports are first-party
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    modules.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return modules


def declared() -> dict[str, set[str]]:
    """setup.py's requirements, as canonical distribution names: {"install_requires": …, "test": …}."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    call = next(node for node in ast.walk(tree)
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setup")
    arguments = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords
                 if keyword.arg in ("install_requires", "extras_require")}

    def names(requirements: list[str]) -> set[str]:
        return {canonical(re.match(r"[A-Za-z0-9._-]+", requirement)[0]) for requirement in requirements}

    return {"install_requires": names(arguments.get("install_requires", [])),
            "test": names(arguments.get("extras_require", {}).get("test", []))}


def undeclared(folder: str, allowed: set[str], where: str) -> list[str]:
    """One line per module of `folder` whose distribution is not among `allowed`, saying what to add."""
    providers = importlib.metadata.packages_distributions()
    problems = []
    for module, files in sorted(imported_modules(folder).items()):
        distributions = providers.get(module, [])
        files_text = ", ".join(sorted(set(files)))
        if not distributions:
            problems.append(f"{module} (imported by {files_text}) is not installed here: add the distribution "
                            f"that provides it to {where} in setup.py, then run `make install`")
        elif not {canonical(name) for name in distributions} & allowed:
            problems.append(f"{module} (imported by {files_text}) comes from {' or '.join(distributions)}, "
                            f"which setup.py does not declare: add it to {where}")
    return problems


def test_the_tap_declares_what_it_imports():
    problems = undeclared("tap_listrak", declared()["install_requires"], "install_requires")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("folder", ["tests", "bench"])
def test_tests_and_bench_declare_what_they_import(folder):
    requirements = declared()
    problems = undeclared(folder, requirements["install_requires"] | requirements["test"],
                          "extras_require['test'] (or install_requires)")
    assert not problems, "\n".join(problems)


def test_the_walk_sees_the_imports_it_must_check():
    """Guards the test itself: known third-party imports are found, stdlib and first-party are not."""
    assert {"zeep", "lxml"} <= set(imported_modules("tap_listrak"))
    assert {"pytest", "vcr"} <= set(imported_modules("tests"))
    assert not {"json", "tap_listrak", "tests", "__future__"} & set(imported_modules("tests"))
