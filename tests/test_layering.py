"""The package's modules form layers: no import cycle, lazy imports inside functions
included (they are cycles all the same, only deferred), and nothing imports the
package face (matcalc/__init__.py) from inside the package."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "matcalc"


def _imports(path: Path) -> set:
    """The package's modules that a module imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:     # from . import expr, budget
                found.update(alias.name if (PACKAGE / f"{alias.name}.py").exists() else "__init__"
                             for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("matcalc."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[1] for alias in node.names if alias.name.startswith("matcalc."))
    return found


def import_graph() -> dict:
    return {path.stem: _imports(path) for path in sorted(PACKAGE.glob("*.py"))}


def cycles(graph: dict) -> list:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph.get(module, ())):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == module:
                    break
            if len(component) > 1 or module in graph.get(module, ()):
                found.append(sorted(component))
    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_package_has_no_import_cycle():
    assert cycles(import_graph()) == []


def test_no_module_imports_the_package_face():
    importers = sorted(m for m, imported in import_graph().items() if "__init__" in imported and m != "__main__")
    assert importers == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_lazy_and_absolute_imports():
    graph = import_graph()
    assert "jupyter" in graph["__init__"] and "api" in graph["__init__"]   # inside functions, by name
    assert graph["__main__"] == {"cli"}
