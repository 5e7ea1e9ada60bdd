"""The package imports only downwards: no cycles, no module importing a higher layer.

    pytest tests/test_layers.py

Every module under auditor/ is parsed with ``ast`` (nothing is imported), and
every ``import auditor...`` / ``from auditor... import`` / relative import is an
edge of the graph, wherever it stands: an import inside a function is still a
dependency. The one exception: imports under ``if TYPE_CHECKING:`` are left
out, because they never run and only name types for mypy.

The layers, lowest first (docs/architecture.md says what each one owns)::

    ground    records, config, errors, redact (and the package's __init__)
    ingest    speech    analysis    store    audit    views    web    cli

A module may import its own layer or a lower one. Within a layer (and within
a package) there must be no cycle between modules either.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "auditor"

LAYERS: tuple[str, ...] = ("ground", "ingest", "speech", "analysis", "store", "audit", "views",
                           "web", "cli")
GROUND = {"auditor", "auditor.records", "auditor.config", "auditor.errors", "auditor.redact"}


def layer_of(module: str) -> str:
    """The layer of a dotted module name under auditor."""
    if module in GROUND:
        return "ground"
    if module == "auditor.__main__":
        return "cli"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in LAYERS:
        return parts[1]
    raise AssertionError(f"{module} belongs to no layer: add it to a package or to GROUND")


def _modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package __init__) for every module under root/auditor."""
    out: dict[str, tuple[Path, bool]] = {}
    for path in sorted((root / "auditor").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST) -> Iterable[ast.AST]:
    """Every node below node, except the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def imports_of(name: str, source: str, is_pkg: bool, known: Iterable[str]) -> set[str]:
    """The auditor modules a module's source imports (relative imports resolved)."""
    known = set(known)
    package = name if is_pkg else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "auditor")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "auditor":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    return {m for m in found if m != name}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the auditor modules it imports, for the whole package."""
    mods = _modules(root)
    return {name: imports_of(name, path.read_text(encoding="utf-8"), is_pkg, mods)
            for name, (path, is_pkg) in mods.items()}


def upward_imports(graph: Mapping[str, set[str]]) -> list[str]:
    """'a -> b (layer x -> higher layer y)' for every import of a higher layer."""
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    bad = []
    for mod, deps in sorted(graph.items()):
        for dep in sorted(deps):
            if rank[layer_of(dep)] > rank[layer_of(mod)]:
                bad.append(f"{mod} -> {dep} ({layer_of(mod)} imports higher layer "
                           f"{layer_of(dep)})")
    return bad


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def layer_graph(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """layer -> the other layers its modules import."""
    out: dict[str, set[str]] = {layer: set() for layer in LAYERS}
    for mod, deps in graph.items():
        out[layer_of(mod)].update(layer_of(d) for d in deps if layer_of(d) != layer_of(mod))
    return out


# --- the package ------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_every_module_has_a_layer(graph: dict[str, set[str]]) -> None:
    assert len(graph) > 40
    for mod in graph:
        layer_of(mod)  # raises for a module outside every layer


def test_no_module_imports_a_higher_layer(graph: dict[str, set[str]]) -> None:
    assert upward_imports(graph) == []


def test_no_cycle_between_modules(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_no_cycle_between_layers(graph: dict[str, set[str]]) -> None:
    assert cycles(layer_graph(graph)) == []


def test_cli_audit_does_not_import_the_report_command(graph: dict[str, set[str]]) -> None:
    assert "auditor.cli.report" not in graph["auditor.cli.audit"]


def test_the_web_app_sits_between_views_and_cli(graph: dict[str, set[str]]) -> None:
    assert layer_of("auditor.web.app") == "web"
    assert "auditor.views.review" in graph["auditor.web.app"]
    assert "auditor.web.server" in graph["auditor.cli.web"]


# --- the checks themselves, on a synthetic graph -----------------------------


def test_self_test_an_upward_import_is_caught() -> None:
    known = {"auditor.ingest.discovery", "auditor.views.calls", "auditor.records"}
    source = "from auditor.records import X\n\ndef f():\n    from auditor.views.calls import q\n"
    deps = imports_of("auditor.ingest.discovery", source, False, known)
    assert deps == {"auditor.records", "auditor.views.calls"}  # the function-level one counts
    bad = upward_imports({"auditor.ingest.discovery": deps})
    assert bad == ["auditor.ingest.discovery -> auditor.views.calls "
                   "(ingest imports higher layer views)"]


def test_self_test_type_checking_imports_are_left_out_and_relative_ones_resolved() -> None:
    known = {"auditor.store.tables", "auditor.store.engine", "auditor.audit.runner"}
    source = ("from typing import TYPE_CHECKING\nfrom .tables import Recording\n"
              "if TYPE_CHECKING:\n    from auditor.audit.runner import Auditor\n")
    assert imports_of("auditor.store.engine", source, False, known) == {"auditor.store.tables"}


def test_self_test_cycles_are_found() -> None:
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(g) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    mods = {"auditor.speech.audio": {"auditor.ingest.layouts"},
            "auditor.ingest.layouts": {"auditor.speech.audio"}}
    assert cycles(layer_graph(mods)) == [["ingest", "speech"]]
    assert upward_imports(mods) == ["auditor.ingest.layouts -> auditor.speech.audio "
                                    "(ingest imports higher layer speech)"]
