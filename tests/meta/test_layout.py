"""The architecture stays as documented: sans-IO layers, curated exports, documented hooks."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import rttp
import rttp.hookspecs
import rttp.plugin

SRC = Path(rttp.__file__).parent
FORBIDDEN_IN_SANS_IO = {"trio", "socket", "ssl", "asyncio", "select"}


SANS_IO_MODULES = {
    "_model",
    "_proto",
    "errors",
    "rtml",
    "_headers",
    "_messages",
    "_request",
    "_response",
    "_head",
    "_document",
    "_submission",
    "_render",
    "_status",
    "_url",
    "_events",
    "_encoding",
    "_validate",
    "_streamfields",
    "_forms",
    "_media",
    "_negotiation",
    "_answer",
    "_auth",
    "_authscheme",
    "_replay",
    "_unset",
    "_wsbackend",
    "_wsdeflate",
    "_wsevents",
    "_wskeys",
    "_wsscan",
}


#: the imports upwards a sans-IO layer may make, each inside one function and only when
#: called: a message built by hand asks the default plugin set for its codecs
UPWARD_ON_CALL = {("_model/_media.py", "default_codecs", "_plugins")}


def _function_level_imports(path: Path) -> set[tuple[str, str]]:
    """(function name, module) of every relative import made inside a function."""
    found = set()
    for func in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom) and node.level > 0 and node.module:
                    found.add((func.name, node.module))
    return found


@pytest.mark.parametrize("package", ["_model", "_proto", "rtml"])
def test_sans_io_layers_import_no_io(package):
    root = SRC / package
    for path in [root] if root.is_file() else root.rglob("*.py"):
        key = str(path.relative_to(SRC))
        allowed = {
            (func, module) for where, func, module in UPWARD_ON_CALL if where == key
        } & _function_level_imports(path)
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN_IN_SANS_IO, f"{path}: imports {name}"
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                # relative imports may only reach other sans-IO modules
                targets = [node.module] if node.module else [alias.name for alias in node.names]
                for target in targets:
                    if any(module == target for _, module in allowed):
                        continue
                    assert target.split(".")[0] in SANS_IO_MODULES, (path, target)


def test_public_names_are_sorted_documented_and_exported():
    assert rttp.__all__ == sorted(rttp.__all__, key=str)
    for name in rttp.__all__:
        obj = getattr(rttp, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, f"rttp.{name} has no docstring"
        if inspect.isclass(obj):
            assert obj.__module__ == "rttp" or obj.__module__.startswith("rttp."), name


def test_every_error_is_documented_in_the_tree():
    doc = rttp.errors.__doc__ or ""
    for name in rttp.errors.__all__:
        assert name in doc, f"{name} is missing from the tree in rttp.errors' docstring"
        assert issubclass(getattr(rttp.errors, name), rttp.errors.RTTPError)


def test_every_hook_is_documented_with_its_key():
    hooks = [n for n in dir(rttp.hookspecs) if n.startswith("rttp_")]
    assert hooks
    docs = (Path(__file__).parents[2] / "docs" / "plugins.rst").read_text()
    for name in hooks:
        doc = getattr(rttp.hookspecs, name).__doc__ or ""
        assert ":param register:" in doc, name
        assert "Key" in doc, name
        assert name in docs, f"{name} is not in docs/plugins.rst"


def test_builtin_plugins_use_only_the_public_plugin_api():
    import rttp_builtin

    root = Path(rttp_builtin.__file__).parent
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rttp"):
                assert node.module in {"rttp.plugin", "rttp.errors", "rttp.hookspecs"}, (
                    f"{path}: {node.module} (plugins import only rttp.plugin, rttp.errors "
                    "and rttp.hookspecs; re-export what they need from rttp.plugin)"
                )
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] != "rttp" or alias.name in {
                        "rttp.plugin",
                        "rttp.errors",
                        "rttp.hookspecs",
                    }, f"{path}: import {alias.name}"


def test_all_modules_import():
    for module in pkgutil.walk_packages(rttp.__path__, "rttp."):
        if module.name.endswith("__main__"):
            continue
        importlib.import_module(module.name)


def test_public_modules_have_sorted_all():
    for module in (rttp.errors, rttp.plugin, rttp.hookspecs):
        assert list(module.__all__) == sorted(module.__all__), module.__name__


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, anywhere in it (function bodies included), with the
    relative level (0 for absolute imports)."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
            found += [(node.level, f"{node.module or ''}.{alias.name}") for alias in node.names]
    return found


#: the one module of _io that reaches a face, and only inside its methods, on call: the
#: client's seed-shaped methods (defined on Client, so nothing patches it)
FACE_ON_CALL = "_io/client/_seedforms.py"


def test_io_never_imports_a_face():
    """The engine, server and client are the bottom; faces build on them (never back)."""
    for path in (SRC / "_io").rglob("*.py"):
        if str(path.relative_to(SRC)) == FACE_ON_CALL:
            tree = ast.parse(path.read_text(), str(path))
            top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
            assert not any(
                "_faces" in (n.module or "") for n in top if isinstance(n, ast.ImportFrom)
            )
            continue
        for _, name in _imports(path):
            assert "_faces" not in name.split("."), f"{path}: imports {name}"


def test_no_module_patches_another_at_import():
    """No face attaches methods to the client, and no import plants state into the model:
    a fresh interpreter that imports only the client module sees its seed-shaped
    methods, and a message built before any ``rttp.X`` is touched encodes its value."""
    import subprocess
    import sys

    script = (
        "from rttp._io.client._client import Client\n"
        "assert all(hasattr(Client, m) for m in ('http', 'stream_chunks', 'start', "
        "'start_get', 'start_post', 'get_auth_token'))\n"
        "from rttp._model import Response\n"
        "r = Response(value={'a': [1, 2]})\n"
        "body = r.body.decode()\n"
        "print(r.headers['content-type'], body)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["application/json", '{"a":[1,2]}']
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        assert "setattr(Client" not in text, path
        assert "Client.http =" not in text, path
    for path in (SRC / "_model").rglob("*.py"):  # no state planted into the model
        tree = ast.parse(path.read_text(), str(path))
        assert not any(isinstance(node, ast.Global) for node in ast.walk(tree)), path


#: the I/O layer's folders and which of them each may import (besides ``_io._util`` and
#: the sans-IO layers): ``net`` knows no HTTP; the engine is the one HTTP connection;
#: server, client and websocket stand on it. The client's in-memory AppTransport serves
#: an app with the real server, and the server hosts ASGI apps' WebSockets.
IO_PACKAGES: dict[str, set[str]] = {
    "net": set(),
    "engine": {"net"},
    "server": {"engine", "net", "websocket"},
    "client": {"engine", "net", "server", "websocket"},
    "websocket": {"engine", "net"},
}


def test_io_is_layered_by_folder():
    io = SRC / "_io"
    folders = {p.name for p in io.iterdir() if p.is_dir() and not p.name.startswith("_")}
    assert folders == set(IO_PACKAGES), "name each _io folder (and its imports) in IO_PACKAGES"
    assert sorted(p.name for p in io.glob("*.py")) == ["__init__.py", "_util.py"]
    for folder, allowed in IO_PACKAGES.items():
        for path in (io / folder).rglob("*.py"):
            for level, name in _imports(path):
                if level == 2 and name.split(".")[0] in IO_PACKAGES:
                    used = name.split(".")[0]
                elif level == 0 and name.startswith("rttp._io."):
                    used = name.split(".")[2]
                else:
                    continue
                assert used in allowed or used == folder, f"{path}: imports {name}"


def test_the_model_imports_no_content_format():
    """Codecs bring content formats (RTML …); the model only asks them (python_types)."""
    for path in (SRC / "_model").rglob("*.py"):
        for _, name in _imports(path):
            assert "rtml" not in name.split("."), f"{path}: imports {name}"


def test_no_string_keyed_contracts_between_layers():
    """Cross-layer contracts are typed attributes (Response.on_upgrade, .history,
    Request.parameters, .upgrader), never keys in ``extensions``, which is the user's."""
    import rttp_builtin

    roots = [SRC, Path(rttp_builtin.__file__).parent]
    for root in roots:
        for path in root.rglob("*.py"):
            text = path.read_text()
            for needle in ("extensions[", "extensions.get(", "extensions.setdefault("):
                assert needle not in text, f"{path}: {needle}"


#: modules allowed over the 450-line bound (none: split a module by its concerns; the aim
#: is ~400)
OVERSIZED: dict[str, int] = {}


def test_modules_stay_small():
    import rttp_builtin

    plugins = Path(rttp_builtin.__file__).parent
    for root, prefix in ((SRC, ""), (plugins, "rttp_builtin/")):
        for path in root.rglob("*.py"):
            key = prefix + str(path.relative_to(root))
            lines = len(path.read_text().splitlines())
            limit = OVERSIZED.get(key, 450)
            assert lines <= limit, f"{key} has {lines} lines (split it by concern)"


def test_import_rttp_imports_nothing_else():
    """``import rttp`` costs almost nothing: every public name is imported on first use,
    and the client alone never brings in the WebSocket stack, forms or the faces it does
    not extend."""
    import subprocess
    import sys

    script = (
        "import sys, rttp\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('rttp', 'trio', 'wsproto', 'h11', 'pluggy', 'multipart', 'jwt')))\n"
        "rttp.Client\n"
        "print(sorted(m for m in sys.modules if m.startswith(('wsproto', 'multipart', 'jwt', "
        "'rttp._faces._app', 'rttp._faces._endpoint', 'rttp._io.websocket._websocket', 'rttp.auth'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    bare, with_client = out.stdout.splitlines()
    assert bare == "['rttp']"
    assert with_client == "[]"
