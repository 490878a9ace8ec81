"""Each nox session installs what it needs from a fresh clone: ``typecheck`` installs the
``lint`` extra, and mypy follows every import in src/ and the built-in plugins, lazy
ones included; ``docs`` installs the ``docs`` extra, and autodoc imports the modules
(their module-level imports). A distribution missing from the extra fails the session
on a fresh machine while passing here, where everything happens to be installed."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
CODE = [ROOT / "src" / "rttp", ROOT / "plugins" / "rttp_builtin"]
OURS = {"rttp", "rttp_builtin"}


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503)."""
    bare = re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", bare).lower()


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


#: what the docs' autodoc directives import (each package's ``__all__`` resolved, as
#: ``:members:`` does)
DOCUMENTED = ["rttp", "rttp.auth", "rttp.errors", "rttp.moonbridge", "rttp.plugin", "rttp.rtml"]
DOCUMENTED += ["rttp.testing", "rttp.hookspecs"]


def _documented_files() -> list[Path]:
    """Our source files that importing the documented modules loads."""
    probe = (
        "import importlib, sys\n"
        f"for name in {DOCUMENTED!r}:\n"
        "    module = importlib.import_module(name)\n"
        "    for attr in getattr(module, '__all__', []):\n"
        "        getattr(module, attr)\n"
        "for name, module in list(sys.modules.items()):\n"
        "    if name.split('.')[0] in ('rttp', 'rttp_builtin') and getattr(module, '__file__', None):\n"
        "        print(module.__file__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return [Path(line) for line in out.splitlines()]


def _imports(module_level_only: bool) -> dict[str, set[str]]:
    """Third-party top-level module names imported by our code → the files doing it
    (with ``module_level_only``: by the files the documented modules load)."""
    found: dict[str, set[str]] = {}
    files = (
        _documented_files()
        if module_level_only
        else [path for folder in CODE for path in folder.rglob("*.py")]
    )
    for path in files:
        tree = ast.parse(path.read_text())
        nodes = ast.walk(tree)
        if module_level_only:  # what importing the module runs (not function bodies)
            nodes = (
                node
                for top in tree.body
                if not isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                for node in ast.walk(top)
                if not _under_type_checking(top)
            )
        for node in nodes:
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top_name = name.split(".")[0]
                if top_name in OURS or top_name in sys.stdlib_module_names:
                    continue
                found.setdefault(top_name, set()).add(str(path.relative_to(ROOT)))
    return found


def _under_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _distributions(module: str) -> set[str]:
    owners = importlib.metadata.packages_distributions().get(module, [])
    return {_name(owner) for owner in owners}


def _closure(requirements: list[str]) -> set[str]:
    """The distributions installing ``requirements`` brings in (their own dependencies,
    and those of the extras they ask for: ``pyjwt[crypto]`` brings cryptography)."""
    seen: set[str] = set()
    todo = list(requirements)
    while todo:
        requirement = todo.pop()
        name = _name(requirement)
        extras = set(re.findall(r"\[([^\]]*)\]", requirement.split(";")[0]))
        wanted = {e.strip() for group in extras for e in group.split(",")}
        if name in seen and not wanted:
            continue
        seen.add(name)
        try:
            needs = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for need in needs:
            marker = need.partition(";")[2]
            asked = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            if asked and not set(asked) & wanted:
                continue
            if _name(need) not in seen:
                todo.append(need)
    return seen


def _missing(module_level_only: bool, extra: str) -> list[str]:
    project = _project()
    provided = _closure([*project["dependencies"], *project["optional-dependencies"][extra]])
    missing = []
    # dependencies for other Pythons (tomli, exceptiongroup before 3.11) are not here
    elsewhere = {_name(r) for r in project["dependencies"] if ";" in r}
    for module, files in sorted(_imports(module_level_only).items()):
        owners = _distributions(module)
        if not owners and _name(module) in elsewhere:
            continue
        assert owners, f"{module} (imported by {sorted(files)}) is not installed here"
        if not owners & provided:
            missing.append(f"{module} ({'/'.join(sorted(owners))}) imported by {sorted(files)}")
    return missing


def test_the_lint_extra_has_every_import_mypy_follows():
    assert _missing(module_level_only=False, extra="lint") == []


def test_the_docs_extra_has_every_import_autodoc_runs():
    assert _missing(module_level_only=True, extra="docs") == []
