"""The house rules that the layout alone does not enforce: mlcontract's modules import each other
without cycles.

The graph is read off the source: every `import` / `from ... import` executed when a module is
imported (module level, including `try` and `if` blocks, but not function bodies — those are the
lazy imports — nor `if TYPE_CHECKING:` blocks). Importing `a.b.c` runs the `__init__` of each
package on the way (`a.b`) unless the importer is itself inside it, so those are edges too: a
cycle through a package's `__init__` is a cycle. A second graph adds the lazy imports (inside
functions): a layering where two modules need each other, even one of them lazily, is a cycle
too (sources ↔ profiles, language.diagnostics ↔ errors and sources.http ↔ models were)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "mlcontract"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imports(tree: ast.Module, lazy: bool = False):
    """Import nodes executed at import time (with `lazy`, also those in function bodies), never
    those under `if TYPE_CHECKING:`."""
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not lazy:
            continue  # a function body runs when it is called (a lazy import), not at import time
        else:  # module-level blocks, class bodies (which run at import time)
            stack.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING" or \
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _imported(node, module: str, package: bool, known: set[str]) -> set[str]:
    """The mlcontract modules an import statement names."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE}
    if node.level:
        base = module.split(".") if package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != PACKAGE:
        return set()
    found = {target}
    for alias in node.names:  # `from pkg import submodule`
        if f"{target}.{alias.name}" in known:
            found.add(f"{target}.{alias.name}")
    return found


def import_graph(lazy: bool = False) -> dict[str, set[str]]:
    files = {_module_name(p): p for p in (SRC / PACKAGE).rglob("*.py")}
    known = set(files)
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = _is_package(path)
        own = {".".join(name.split(".")[:i]) for i in range(1, len(name.split(".")) + 1)}
        if not package:
            own.discard(name)
        for node in _imports(ast.parse(path.read_text(encoding="utf-8")), lazy):
            for target in _imported(node, name, package, known):
                parts = target.split(".")
                for i in range(1, len(parts) + 1):  # the packages on the way run their __init__
                    step = ".".join(parts[:i])
                    if step in known and step not in own and step != name:
                        graph[name].add(step)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_is_read():
    graph = import_graph()
    assert "mlcontract.resolve.features" in graph["mlcontract.resolve"]  # from . import features
    assert "mlcontract.plan.requests" in graph["mlcontract.plan.measures"]
    # importing mlcontract.plan.requests from outside runs mlcontract/plan/__init__.py first
    assert "mlcontract.plan" in graph["mlcontract.models.serving"]
    assert "mlcontract.models.loaded" not in graph["mlcontract.sources.http"]  # lazy: only when an http() model loads
    assert "mlcontract.models.loaded" in import_graph(lazy=True)["mlcontract.sources.http"]
    # a cycle through a package's __init__ is found
    assert cycles({"a": {"b.c"}, "b.c": {"b"}, "b": {"a"}}) == [["a", "b", "b.c"]]


def test_no_import_cycles_among_mlcontract_modules():
    assert cycles(import_graph()) == []


def test_no_import_cycles_even_through_lazy_imports():
    assert cycles(import_graph(lazy=True)) == []


@pytest.mark.slow
def test_every_module_imports_on_its_own():
    """Whatever a module's importer, its own imports complete: no module needs another to have
    been imported first (the symptom of a cycle: `partially initialized module`)."""
    import subprocess
    import sys

    modules = sorted(m for m in import_graph() if not m.endswith("__main__"))
    code = ("import importlib, os, sys\n"
            # third-party libraries load once, before the forks (they cannot hide an mlcontract cycle)
            "for heavy in ('numpy', 'lark', 'pydantic', 'rich', 'typer'):\n"
            "    try:\n"
            "        importlib.import_module(heavy)\n"
            "    except ImportError:\n"
            "        pass\n"
            "failed = []\n"
            "for name in sys.argv[1:]:\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        try:\n"
            "            importlib.import_module(name)\n"
            "        except BaseException as error:\n"
            "            print(name, type(error).__name__, error, flush=True)\n"
            "            os._exit(1)\n"
            "        os._exit(0)\n"
            "    if os.waitpid(pid, 0)[1]:\n"
            "        failed.append(name)\n"
            "sys.exit(1 if failed else 0)\n")
    done = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
