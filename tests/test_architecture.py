"""The layering rule of service/ (docs/architecture.md): imports point down only, no
resource folder imports a sibling, no cycles. `make lint` runs the same check."""

from __future__ import annotations

from pathlib import Path

from devtools import layers


def test_the_service_follows_its_layers() -> None:
    found = layers.violations(layers.import_graph())
    assert found == [], "\n".join(map(str, found))


def test_every_top_level_package_has_a_layer() -> None:
    # A new folder under service/ must be placed in a layer on purpose, not fall into
    # "wiring" (which may import anything) by accident.
    packages = {
        path.name
        for path in (layers.ROOT / "service").iterdir()
        if path.is_dir() and (path / "__init__.py").exists()
    }
    assert packages == {"commands", "domain", "integrations", "kit", "views", "web"}


def rules_broken(graph: dict[str, set[str]]) -> set[tuple[str, str, str]]:
    return {(v.importer, v.imported, v.rule) for v in layers.violations(graph)}


def test_an_upward_or_sideways_import_is_reported() -> None:
    graph = {
        "service.kit.db": {"service.web.auth"},
        "service.web.auth": set(),
        "service.views.badges": set(),
        "service.views.badges.cache": {"service.integrations.notifications"},
        "service.integrations.notifications": {"service.settings"},
        "service.settings": set(),
    }
    assert rules_broken(graph) == {
        ("service.kit.db", "service.web.auth", "kit imports web, above it"),
        (
            "service.views.badges.cache",
            "service.integrations.notifications",
            "views imports its peer integrations",
        ),
    }


def test_a_folder_reaching_into_a_sibling_is_reported() -> None:
    graph = {
        "service.domain.crud": {"service.domain.history.repository"},
        "service.domain.history": set(),
        "service.domain.history.repository": set(),
        "service.domain.documents": set(),
        "service.domain.documents.service": {
            "service.domain.crud",
            "service.domain.history.repository",
            "service.domain.relations.service",
        },
        "service.domain.relations": set(),
        "service.domain.relations.service": set(),
        "service.domain.verification": {"service.domain.documents.service"},
    }
    assert rules_broken(graph) == {
        (
            "service.domain.documents.service",
            "service.domain.relations.service",
            "a folder imports a sibling folder",
        ),
        (
            "service.domain.verification",
            "service.domain.documents.service",
            "a shared module imports a folder",
        ),
    }


def test_cycles_between_modules_and_between_packages_are_reported() -> None:
    graph = {
        "service.web.a": {"service.web.b"},
        "service.web.b": {"service.web.a"},
        "service.kit": set(),
        "service.kit.x": set(),
        "service.web": set(),
    }
    assert (
        "service.web.a -> service.web.b",
        "service.web.a",
        "module cycle",
    ) in rules_broken(graph)
    packages = {
        "service.domain.documents": set(),
        "service.domain.documents.service": {"service.domain.relations.service"},
        "service.domain.relations": set(),
        "service.domain.relations.service": {"service.domain.documents.repository"},
        "service.domain.documents.repository": set(),
    }
    assert (
        "service.domain.documents -> service.domain.relations",
        "service.domain.documents",
        "package cycle",
    ) in rules_broken(packages)


def test_imports_inside_functions_and_type_checking_blocks_count(tmp_path: Path) -> None:
    package = tmp_path / "service"
    for folder in ("kit", "web"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "web" / "auth.py").write_text("")
    (package / "kit" / "db.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from service.web import auth\n"
        "def later():\n"
        "    from . import other\n"
    )
    (package / "kit" / "other.py").write_text("")
    graph = layers.import_graph(tmp_path, "service")
    assert graph["service.kit.db"] == {"service.web.auth", "service.kit.other"}
    assert rules_broken(graph) == {
        ("service.kit.db", "service.web.auth", "kit imports web, above it")
    }
