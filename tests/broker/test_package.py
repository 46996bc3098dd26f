"""The broker installs alone: its wheel, built from broker/, installs into a fresh virtualenv
that holds only what its metadata asks for, and gives a broker that runs and serves STOMP,
with nothing of the game (no Django, no PostgreSQL driver) and none of the checkout's
development helpers.

No package index is asked: the wheel is built with the setuptools of this virtualenv, and the
broker's dependencies are copied from this virtualenv, found by walking the wheel's
`Requires-Dist` the way pip would; pip then installs the wheel with `--no-index`, so a
dependency the metadata names and the copy lacks fails the install."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from real_broker import REPO, free_port

BUILD_SECONDS = 300


def run_pip(*args: str | Path) -> None:
    """This virtualenv's pip, with no package index; its output in the failure if it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--no-input", "--disable-pip-version-check", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=BUILD_SECONDS,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The broker's wheel, built from a copy of broker/ (no build files left in the checkout)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "stomp-broker"
    shutil.copytree(
        REPO / "broker",
        source,
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"),
    )
    run_pip("wheel", "--no-index", "--no-deps", "--no-build-isolation", "-w", root, source)
    (built,) = root.glob("stomp_broker-*.whl")
    return built


def requirements(wheel: Path) -> list[Requirement]:
    """The wheel's `Requires-Dist`, as pip reads them."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        fields = Parser().parsestr(archive.read(name).decode())
    return [Requirement(line) for line in fields.get_all("Requires-Dist", [])]


def closure(wanted: list[Requirement]) -> list[metadata.Distribution]:
    """The installed distributions `wanted` needs, and what they need in turn; markers (the
    platform, extras not asked for) weighed as pip weighs them."""
    found: dict[str, metadata.Distribution] = {}
    while wanted:
        requirement = wanted.pop()
        if requirement.marker and not requirement.marker.evaluate(
            {**default_environment(), "extra": ""}
        ):
            continue
        distribution = metadata.distribution(requirement.name)
        key = distribution.metadata["Name"].lower()
        if key not in found:
            found[key] = distribution
            wanted += [Requirement(line) for line in distribution.requires or []]
    return list(found.values())


@pytest.fixture(scope="module")
def alone(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv (no pip, no site packages) with the broker's dependencies copied in
    and its wheel installed; its bin/."""
    venv = tmp_path_factory.mktemp("alone") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    for distribution in closure(requirements(wheel)):
        for file in distribution.files or []:
            copy = site / file
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(distribution.locate_file(file), copy)
    run_pip("--python", venv / "bin" / "python", "install", "--no-index", wheel)
    return venv / "bin"


def run(bin_: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # from a directory without the checkout's broker/ in it, as on a machine without the game
    return subprocess.run(
        [str(bin_ / args[0]), *args[1:]], cwd=bin_, capture_output=True, text=True, timeout=60
    )


def test_the_wheel_holds_the_broker_its_guide_and_changelog_and_no_development_helper(
    wheel: Path,
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"broker/GUIDE.md", "broker/CHANGELOG.md", "broker/example.toml"} <= names
    assert {"broker/cli.py", "broker/transports/tcp.py", "broker/transports/websocket.py"} <= names
    assert "broker/processes.py" not in names
    assert not any(name.startswith(("tests/", "devtools/", "quiz/")) for name in names)


def test_it_brings_nothing_of_the_game(alone: Path) -> None:
    for module in ("django", "psycopg", "quiz", "devtools"):
        result = run(alone, "python", "-c", f"import {module}")
        assert "ModuleNotFoundError" in result.stderr, module
    located = run(alone, "python", "-c", "import broker; print(broker.__file__)")
    assert str(alone.parent) in located.stdout  # the installed copy, not the checkout


def test_the_script_and_the_module_answer_help(alone: Path) -> None:
    for command in (["stomp-broker", "--help"], ["python", "-m", "broker", "--help"]):
        result = run(alone, *command)
        assert result.returncode == 0 and "STOMP 1.0/1.1/1.2" in result.stdout


def test_the_example_config_and_deploy_files_come_along(alone: Path) -> None:
    code = (
        "import broker, pathlib; home = pathlib.Path(broker.__file__).parent; "
        "print(sorted(p.name for p in [home / 'example.toml', *(home / 'deploy').iterdir()]))"
    )
    assert run(alone, "python", "-c", code).stdout.strip() == (
        "['Containerfile', 'example.toml', 'stomp-broker.service']"
    )


def test_it_serves_stomp_and_stops_cleanly_on_sigterm(alone: Path) -> None:
    tcp, ws = free_port(), free_port()
    broker = subprocess.Popen(
        [alone / "stomp-broker", "--user", "guest:guest"]
        + ["--tcp", f"127.0.0.1:{tcp}", "--ws", f"127.0.0.1:{ws}"],
        cwd=alone,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client = socket.create_connection(("127.0.0.1", tcp), timeout=5)
                break
            except OSError:
                assert broker.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        with client:
            client.sendall(b"CONNECT\naccept-version:1.2\nlogin:guest\npasscode:guest\n\n\x00")
            reply = client.recv(4096)
        assert reply.startswith(b"CONNECTED\n") and b"version:1.2" in reply
    finally:
        broker.send_signal(signal.SIGTERM)
        assert broker.wait(timeout=30) == 0
