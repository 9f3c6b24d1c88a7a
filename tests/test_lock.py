"""Every machine installs the same versions: the lock files pin every package with its hashes, they are
made from the pyproject.toml as it is, and the environment the tests run in is the lock's."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+?)(?: ; (?P<marker>[^\\]+?))? \\$")


def pins(lock: str) -> dict[str, str]:
    """name -> version of every package the lock installs on this interpreter (its marker holds here)."""
    found: dict[str, str] = {}
    for line in (ROOT / lock).read_text().splitlines():
        if (match := PIN.match(line)) and (match["marker"] is None or Marker(match["marker"]).evaluate()):
            found[canonicalize_name(match["name"])] = match["version"]
    return found


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_locks_were_made_from_pyproject_toml_as_it_is_now() -> None:
    check = subprocess.run([sys.executable, str(ROOT / "deploy/lock.py"), "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_every_dependency_is_pinned_within_its_range_and_every_pin_carries_hashes() -> None:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    for lock, requirements in (
        ("requirements.lock", project["dependencies"]),
        ("requirements-dev.lock", [*project["dependencies"], *project["optional-dependencies"]["dev"]]),
    ):
        pinned = pins(lock)
        for requirement in map(Requirement, requirements):
            version = pinned.get(canonicalize_name(requirement.name))
            assert version is not None, f"{lock} does not pin {requirement.name}: run `make lock`"
            assert requirement.specifier.contains(version, prereleases=True), f"{lock}: {requirement} vs {version}"
        text = (ROOT / lock).read_text()
        blocks = re.split(r"\n(?=[A-Za-z0-9._-]+==)", text.split("\n", 3)[3])
        assert all("--hash=sha256:" in block for block in blocks if "==" in block)


def test_the_image_and_the_tests_get_the_same_version_of_every_package_they_share() -> None:
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {name: dev[name] for name in runtime} == runtime


def test_this_environment_is_the_lock() -> None:
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    differs = {
        name: (version, installed.get(name)) for name, version in pins("requirements-dev.lock").items()
        if installed.get(name) != version
    }  # fmt: skip
    assert not differs, f"(locked, installed): {differs}; run `make install`"
