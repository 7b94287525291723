"""Shared fixtures for the interop tests."""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def rein_bin():
    """The `rein` binary: $REIN_BIN, else the debug build (built if missing)."""
    env_bin = os.environ.get("REIN_BIN")
    if env_bin:
        path = Path(env_bin)
        assert path.is_file(), f"REIN_BIN={env_bin} does not exist"
        return str(path)
    path = REPO / ".build" / "debug" / "rein"
    if not path.is_file():
        subprocess.run(["swift", "build", "--product", "rein"], cwd=REPO, check=True)
    assert path.is_file(), f"{path} missing after swift build"
    return str(path)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running test (e.g. 1 GiB streaming); runs by default, deselect with -m 'not slow'")


@pytest.fixture(scope="module")
def moto():
    """One moto_server per test module, stopped by PID at the module's end."""
    from sidecar_harness import Moto
    m = Moto()
    yield m
    m.stop()


@pytest.fixture
def collector(rein_bin):
    """A `rein collector` on its own state directory and port, stopped by PID at the test's end."""
    from collector_harness import Collector
    c = Collector(rein_bin)
    yield c
    c.stop()
