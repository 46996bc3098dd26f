"""The configuration reference of the broker's guide (GUIDE.md), written from the dataclasses
of broker.config.

    python -m broker.config_reference                      # print it
    python -m broker.config_reference --write broker/GUIDE.md

`--write` replaces what stands between the two marker lines, so the page's prose stays as
written and a test can tell when the reference is out of date.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import types
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from broker.config import BrokerConfig, Listener, Permissions

START = (
    "<!-- config-reference: start (python -m broker.config_reference --write broker/GUIDE.md) -->"
)
END = "<!-- config-reference: end -->"
REQUIRED, NOT_SET = "required", "not set"

# The BrokerConfig fields that are TOML tables, by the table's name; the rest are top-level keys.
TABLES = {
    "tls": "[tls]",
    "users": "[[users]]",
    "anonymous_permissions": "[anonymous]",
    "tokens": "[tokens]",
    "http": "[http]",
    "limits": "[limits]",
    "store": "[store]",
    "history": "[[history]]",
    "bindings": "[[bindings]]",
    "webhooks": "[[webhooks]]",
}


@dataclasses.dataclass(frozen=True)
class Key:
    """One line of the reference: a TOML key of one table."""

    table: str
    name: str
    kind: str
    default: str
    doc: str


def _kind(hint: Any) -> str:
    """The TOML type a reader writes for a field of this Python type."""
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return _kind(args[0])
    if typing.get_origin(hint) is tuple:
        return f"list of {_kind(args[0])}s"
    if hint is Listener:
        return "string"
    return {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path"}[hint]


def _toml(value: Any) -> str:
    """A default as it would be written in the TOML file."""
    if value is dataclasses.MISSING:
        return REQUIRED
    if value is None:
        return NOT_SET
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Listener):
        return f'"{value.host}:{value.port}"'
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return repr(value)


def _default(spec: dataclasses.Field[Any]) -> Any:
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return spec.default


def _keys(table: str, cls: type, defaults: Any = None) -> Iterator[Key]:
    """The keys of one table: a Permissions field stands for its `read` and `write` keys."""
    hints = typing.get_type_hints(cls)
    for spec in dataclasses.fields(cls):
        default = getattr(defaults, spec.name) if defaults is not None else _default(spec)
        if hints[spec.name] is Permissions:
            yield from _keys(table, Permissions, default)
            continue
        yield Key(table, spec.name, _kind(hints[spec.name]), _toml(default), spec.metadata["doc"])


def reference_keys() -> list[Key]:
    """Every key of the config file, table by table, top-level keys first."""
    hints = typing.get_type_hints(BrokerConfig)
    keys: list[Key] = []
    tables: list[Key] = []
    for spec in dataclasses.fields(BrokerConfig):
        hint = hints[spec.name]
        if spec.name not in TABLES:
            default = _toml(_default(spec))
            keys.append(Key("", spec.name, _kind(hint), default, spec.metadata["doc"]))
            continue
        # `TLS | None`, `tuple[User, ...]` and plain tables alike: the dataclass inside.
        inner = [arg for arg in typing.get_args(hint) if arg not in (type(None), ...)]
        cls = inner[0] if inner else hint
        defaults = _default(spec) if cls is Permissions else None
        tables.extend(_keys(TABLES[spec.name], cls, defaults))
    return keys + tables


def table_docs() -> dict[str, str]:
    """What each table is for, from the BrokerConfig field it fills."""
    return {
        TABLES[f.name]: f.metadata["doc"]
        for f in dataclasses.fields(BrokerConfig)
        if f.name in TABLES
    }


def _cell(default: str) -> str:
    """A TOML value as code; "required" and "not set" as words, since no file says them."""
    return default if default in (REQUIRED, NOT_SET) else f"`{default}`"


def render() -> str:
    """The reference as Markdown: one table of keys per TOML table."""
    about = table_docs()
    lines = [START]
    for table, keys in itertools.groupby(reference_keys(), key=lambda key: key.table):
        lines += ["", f"### `{table}`" if table else "### Top-level keys", ""]
        if table:
            lines += [about[table], ""]
        lines += ["| key | type | default | what it does |", "| --- | --- | --- | --- |"]
        lines += [
            f"| `{key.name}` | {key.kind} | {_cell(key.default)} | {key.doc} |" for key in keys
        ]
    lines += ["", END]
    return "\n".join(lines) + "\n"


def with_reference(page: str) -> str:
    """`page` with the text between its markers replaced by the current reference."""
    head, start, rest = page.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"the page lacks the marker lines {START!r} and {END!r}")
    return head + render().rstrip("\n") + tail


def main(argv: Sequence[str] | None = None) -> int:
    """Print the reference, or write it into a page between the markers."""
    parser = argparse.ArgumentParser(
        prog="python -m broker.config_reference", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--write", metavar="PAGE", type=Path, help="replace the reference in PAGE")
    args = parser.parse_args(argv)
    if args.write is None:
        sys.stdout.write(render())
        return 0
    args.write.write_text(with_reference(args.write.read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
