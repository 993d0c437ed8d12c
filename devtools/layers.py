"""The layering rule of `service/`, checked over the import graph (docs/architecture.md).

    python -m devtools.layers        # prints each violation; exits 1 if there is any

Layers, top to bottom; a module imports only from layers below its own:

    wiring        service.app, service.__main__, service.commands
    products      service.views, service.integrations (peers: neither imports the other)
    domain        service.domain
    web           service.web (the request pipeline; knows no resource)
    kit           service.kit (knows nothing above it)
    settings      service.settings (imports nothing of ours; every layer may read it)

Inside a layer, the units (a resource folder such as `domain/documents`, a view such as
`views/badges`, a flat module such as `web/auth`) follow two more rules:

- a unit of `domain`, `views` or `integrations` that is a folder never imports a
  sibling folder: references and cascades go through `domain/subjects.py` or the
  database, shared pieces live in the layer's flat modules (`domain/crud.py`, ...);
- the flat modules of a layer and its shared folders (`domain/history`, the event log
  that every resource writes; `views/published`, what the public sees of a subject)
  import no other folder of that layer.

Every import counts: at module level, inside functions and under TYPE_CHECKING. There
are no cycles at all, between modules or between packages.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "service"

RANKS = {
    "settings": 0,
    "kit": 1,
    "web": 2,
    "domain": 3,
    "views": 4,
    "integrations": 4,
    "wiring": 5,
}
# Layers whose folders are independent units (no folder imports a sibling folder).
FOLDER_LAYERS = frozenset({"domain", "views", "integrations"})
# Folders that hold what units of their layer share, as its flat modules do: the event
# log, which every resource writes to and reads its history from; what the public sees
# of one subject, which badges, embeds, oEmbed and ClaimReview all serve.
SHARED_FOLDERS = frozenset({"service.domain.history", "service.views.published"})


@dataclass(frozen=True)
class Violation:
    importer: str
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.importer} -> {self.imported}: {self.rule}"


def module_files(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its __init__)."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imports_of(path: Path, name: str, known: Iterable[str]) -> set[str]:
    """The modules of ours that the module `name` at `path` imports, anywhere in it."""
    known = set(known)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in known:
                    found.add(f"{source}.{alias.name}")
                elif source in known:
                    found.add(source)
    found.discard(name)
    return found


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    files = module_files(root, package)
    return {name: imports_of(path, name, files) for name, path in files.items()}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) == 1:
        return None  # the package itself
    head = parts[1]
    if head in RANKS and head != "wiring":
        return head
    return "wiring"


def unit_of(module: str, packages: set[str]) -> tuple[str, bool]:
    """The unit (`service.domain.documents`, `service.web.auth`) and whether it is a
    folder."""
    parts = module.split(".")
    if len(parts) < 3:
        return module, module in packages
    unit = ".".join(parts[:3])
    return unit, unit in packages and unit not in SHARED_FOLDERS


def violations(graph: Mapping[str, set[str]]) -> list[Violation]:
    packages = {m for m in graph if any(other.startswith(m + ".") for other in graph)}
    found: list[Violation] = []
    for importer, imported_modules in sorted(graph.items()):
        layer = layer_of(importer)
        if layer is None:
            continue
        for imported in sorted(imported_modules):
            target = layer_of(imported)
            if target is None:
                continue
            if RANKS[target] > RANKS[layer]:
                found.append(Violation(importer, imported, f"{layer} imports {target}, above it"))
            elif RANKS[target] == RANKS[layer] and target != layer:
                found.append(Violation(importer, imported, f"{layer} imports its peer {target}"))
            elif target == layer == "settings":
                continue
            elif target == layer and layer in FOLDER_LAYERS:
                unit, is_folder = unit_of(importer, packages)
                other, other_is_folder = unit_of(imported, packages)
                if unit == other or not other_is_folder:
                    continue
                if is_folder:
                    found.append(Violation(importer, imported, "a folder imports a sibling folder"))
                else:
                    found.append(Violation(importer, imported, "a shared module imports a folder"))
    found += [Violation(" -> ".join(cycle), cycle[0], "module cycle") for cycle in cycles(graph)]
    package_graph: dict[str, set[str]] = {}
    for importer, imported_modules in graph.items():
        source = importer if importer in packages else importer.rpartition(".")[0]
        for imported in imported_modules:
            target = imported if imported in packages else imported.rpartition(".")[0]
            # A package's own modules and its __init__ are one node.
            if source and target and source != target:
                package_graph.setdefault(source, set()).add(target)
        package_graph.setdefault(source, set())
    found += [
        Violation(" -> ".join(cycle), cycle[0], "package cycle")
        for cycle in cycles(package_graph, ignore_ancestry=True)
    ]
    return found


def cycles(graph: Mapping[str, set[str]], *, ignore_ancestry: bool = False) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each as a
    sorted list. `ignore_ancestry` leaves out edges between a package and the packages
    inside it (importing `service.domain.crud` from `service.domain.documents` is not a
    cycle with `service.domain`'s own __init__)."""

    def edges(node: str) -> Iterable[str]:
        for target in graph.get(node, ()):
            if ignore_ancestry and (target.startswith(node + ".") or node.startswith(target + ".")):
                continue
            yield target

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges(node):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def main() -> int:
    found = violations(import_graph())
    for violation in found:
        print(violation)
    if found:
        print(f"{len(found)} layering violation(s); see docs/architecture.md", file=sys.stderr)
        return 1
    print("layers: imports point down only, no cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
