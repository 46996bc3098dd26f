"""The site's modules import one another without circles, and every question kind has its
module: the layout docs/architecture.md draws."""

import ast
from pathlib import Path

from quiz.game import kinds
from quiz.game.models import Kind

QUIZ = Path(__file__).resolve().parents[2] / "quiz"


def _module_name(path: Path) -> str:
    parts = path.relative_to(QUIZ.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The site's modules that `path` imports anywhere in it (late imports in functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found & modules


def test_the_sites_modules_import_one_another_without_a_circle() -> None:
    paths = {_module_name(path): path for path in QUIZ.rglob("*.py")}
    graph = {name: _imports(path, set(paths)) for name, path in paths.items()}
    circles = []

    def visit(name: str, trail: list[str]) -> None:
        for imported in sorted(graph[name]):
            if imported in trail:
                circles.append(trail[trail.index(imported) :] + [imported])
            elif imported not in done:
                visit(imported, trail + [imported])
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    assert circles == []


def test_every_question_kind_has_its_module() -> None:
    assert {rules.kind for rules in kinds.KINDS.values()} == set(Kind)
