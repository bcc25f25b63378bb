"""The package's structure: no import cycle anywhere, imports inside functions included (the
import contracts of pyproject.toml, checked by `make lint`, say which way each layer points; this
says no two modules lean on each other at all), no source file over 700 lines, and no simulator
module missing from docs/architecture.md."""

from __future__ import annotations

from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp")

SRC = Path(__file__).parents[1] / "src" / "leadrouter"
MAX_LINES = 700


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_planted_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(edges) == [["a", "b", "c"]]


def test_no_import_cycles_counting_imports_inside_functions() -> None:
    graph = grimp.build_graph("leadrouter", exclude_type_checking_imports=True)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycles(edges) == []


def test_no_source_file_is_over_700_lines() -> None:
    long = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_every_simulator_module_has_its_place_in_the_architecture_page() -> None:
    """docs/architecture.md's table of the simulator's layers names every module of
    `leadrouter.sim`: a module it leaves out is one a next contributor cannot find."""
    page = (SRC.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = page.split("## The simulator", 1)[1].split("\n## ", 1)[0]
    sim = SRC / "sim"
    modules = {path.stem for path in sim.glob("*.py") if path.stem != "__init__"}
    modules |= {path.name for path in sim.iterdir() if (path / "__init__.py").is_file()}
    unnamed = sorted(m for m in modules if f"`{m}`" not in section and f"`{m}/`" not in section)
    assert unnamed == []
