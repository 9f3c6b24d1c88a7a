"""The lock files: every package the platform installs, pinned with its hashes, from pyproject.toml.

    python deploy/lock.py           regenerate requirements.lock and requirements-dev.lock (`make lock`)
    python deploy/lock.py --check   exit 1 when pyproject.toml's dependencies changed since the locks were made

requirements.lock holds what the image runs (the dependencies, the build backend and pip itself);
requirements-dev.lock adds the dev tools at the same versions (it is resolved under requirements.lock).
Both are universal (any platform, Python 3.11 and later) and carry a sha256 of every file, so
`pip install --require-hashes` refuses anything else. The first line of each names a digest of the
pyproject.toml lists they were made from, which `--check` compares without asking any index.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
PYTHON_VERSION = "3.11"  # the oldest Python the project supports (requires-python) and the image's
PIP = "pip>=25,<27"  # pinned in the lock too: installs verify hashes with a known pip
DIGEST_PREFIX = "# inputs-sha256: "


def inputs_digest() -> str:
    """A digest of what the locks are made from: the dependencies, the dev extra and the build backend."""
    pyproject = tomllib.loads(PYPROJECT.read_text())
    inputs = {
        "dependencies": pyproject["project"]["dependencies"],
        "optional": pyproject["project"].get("optional-dependencies", {}),
        "build": pyproject["build-system"]["requires"],
        "pip": PIP,
        "python": PYTHON_VERSION,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _compile(output: Path, extra_lines: list[str], *options: str) -> None:
    uv = Path(sys.executable).with_name("uv")
    command = [
        str(uv) if uv.exists() else "uv",
        "pip", "compile", "pyproject.toml", "-",
        "--universal", "--python-version", PYTHON_VERSION, "--generate-hashes",
        "--no-header", "--quiet", "--output-file", str(output.relative_to(ROOT)), *options,
    ]  # fmt: skip
    subprocess.run(command, input="\n".join(extra_lines) + "\n", text=True, check=True, cwd=ROOT)
    header = (
        f"{DIGEST_PREFIX}{inputs_digest()}\n"
        "# Made by `make lock` (deploy/lock.py) from pyproject.toml; do not edit. Install with\n"
        f"#   pip install --require-hashes --no-deps -r {output.name}\n"
    )
    output.write_text(header + output.read_text())


def lock() -> None:
    pyproject = tomllib.loads(PYPROJECT.read_text())
    extra = [*pyproject["build-system"]["requires"], PIP]
    _compile(RUNTIME_LOCK, extra)
    # The dev tools resolve within the runtime pins, so tests run exactly what the image runs.
    _compile(DEV_LOCK, extra, "--extra", "dev", "--constraint", RUNTIME_LOCK.name)


def stale() -> list[str]:
    """The lock files that were not made from the pyproject.toml as it is now."""
    expected = DIGEST_PREFIX + inputs_digest()
    return [
        path.name
        for path in (RUNTIME_LOCK, DEV_LOCK)
        if not path.exists() or path.read_text().split("\n", 1)[0] != expected
    ]


def main(arguments: list[str]) -> int:
    if arguments == ["--check"]:
        if outdated := stale():
            print(
                f"{', '.join(outdated)}: pyproject.toml's dependencies changed since the lock was made; "
                "run `make lock` and commit the lock files",
                file=sys.stderr,
            )
            return 1
        return 0
    if arguments:
        print(__doc__, file=sys.stderr)
        return 2
    lock()
    print(f"wrote {RUNTIME_LOCK.name} and {DEV_LOCK.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
