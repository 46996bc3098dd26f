"""The docs stay true to the code: the broker's configuration reference and example config
follow the dataclasses, and every relative link in the READMEs, docs/ and the broker's guide
leads somewhere."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

from broker.config import BrokerConfig, load_config
from broker.config_reference import reference_keys, with_reference

REPO = Path(__file__).resolve().parents[1]
BROKER_PAGE = REPO / "broker" / "GUIDE.md"
EXAMPLE = REPO / "broker" / "example.toml"
PAGES = [
    REPO / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
    *sorted((REPO / "broker").glob("*.md")),
]
# [text](target): the target up to a space or the closing parenthesis.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# A path in the repository, as the docs name files and folders: `broker/example.toml`.
REPO_PATH = re.compile(r"`((?:bench|broker|docs|quiz|scripts|static|templates|tests)/[\w./-]*)`")


def test_the_broker_page_holds_the_reference_the_dataclasses_give() -> None:
    page = BROKER_PAGE.read_text()
    assert page == with_reference(page), (
        "broker/GUIDE.md is out of date: python -m broker.config_reference --write broker/GUIDE.md"
    )


def _example_keys() -> set[tuple[str, str]]:
    """(table, key) for every key the example sets; `[[users]]` over all its tables."""
    data = tomllib.loads(EXAMPLE.read_text())
    keys = set()
    for name, value in data.items():
        if isinstance(value, dict):
            keys |= {(f"[{name}]", key) for key in value}
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            keys |= {(f"[[{name}]]", key) for entry in value for key in entry}
        else:
            keys.add(("", name))
    return keys


def test_the_example_config_sets_every_key_the_reference_names_and_no_other() -> None:
    documented = {(key.table, key.name) for key in reference_keys()}
    assert _example_keys() == documented


def test_the_example_config_shows_the_default_limits_and_listeners() -> None:
    config, defaults = load_config(EXAMPLE), BrokerConfig()
    assert (config.limits, config.tcp, config.ws) == (defaults.limits, defaults.tcp, defaults.ws)


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation gone, spaces to dashes,
    and `-1`, `-2`... after a heading that came before."""
    anchors: set[str] = set()
    for heading in re.findall(r"^#+ (.+)$", _prose(page), flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading).strip().lower().replace(" ", "-")
        anchor, repeat = slug, 0
        while anchor in anchors:
            repeat += 1
            anchor = f"{slug}-{repeat}"
        anchors.add(anchor)
    return anchors


def _prose(page: Path) -> str:
    """A page without its code blocks, whose `#` lines are comments, not headings."""
    return re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(_prose(page)):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (anchor and anchor not in _anchors(linked)):
            broken.append(target)
    assert broken == []


def _code(page: Path) -> str:
    """What a reader may type: code blocks and `code spans`."""
    text = page.read_text()
    return "\n".join(
        re.findall(r"```.*?```", text, flags=re.DOTALL) + re.findall(r"`[^`\n]+`", text)
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_file_make_target_command_and_module_the_docs_name_exists(page: Path) -> None:
    from django.core.management import get_commands

    makefile = (REPO / "Makefile").read_text()
    code = _code(page)
    missing = [path for path in REPO_PATH.findall(page.read_text()) if not (REPO / path).exists()]
    missing += [
        f"make {target}"
        for target in re.findall(r"\bmake ([a-z][\w-]*)", code)
        if not re.search(rf"^{target}:", makefile, flags=re.MULTILINE)
    ]
    missing += [
        f"manage.py {command}"
        for command in re.findall(r"manage\.py ([a-z_]+)", code)
        if command not in get_commands()
    ]
    missing += [
        f"python -m {module}"
        for module in re.findall(r"python -m ([\w.]+)", code)
        if importlib.util.find_spec(module) is None
    ]
    assert missing == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_no_page_sends_its_reader_to_an_issue_tracker_they_do_not_have(page: Path) -> None:
    """The issues live outside the repository: a goal or a fix is named by what it does."""
    assert re.findall(r"\bissues? #?\d+", page.read_text(), flags=re.IGNORECASE) == []


def test_the_broker_guides_contents_list_every_section_in_order() -> None:
    """A reader finds every `## ` section of the broker's guide in its contents list, linked by
    the anchor GitHub makes of its title."""
    page = BROKER_PAGE.read_text()
    sections = re.findall(r"^## (.+)$", page, re.M)
    listed = re.findall(r"^- \[(.+?)\]\(#([^)]+)\)$", page.split("\n## ")[0], re.M)
    assert [title for title, _ in listed] == sections
    for title, anchor in listed:
        assert anchor == re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-"), title
