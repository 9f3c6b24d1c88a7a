"""The README is the front door: every setting the code reads is in its table."""

from __future__ import annotations

import importlib
import re

import pytest

from shared.cli import SERVICES
from shared.settings import PROJECT_ROOT, PlatformSettings, ServiceSettings

README = (PROJECT_ROOT / "README.md").read_text()


def documented_variables() -> set[str]:
    """Names in the first column of the configuration table; `_X` after `PREFIX_Y` means `PREFIX_X`."""
    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        cells = re.findall(r"`([A-Z<>_]+)`", row.split("|")[1])
        prefix = cells[0].split("_", 1)[0] if cells else ""
        names.update(prefix + cell if cell.startswith("_") else cell for cell in cells)
    return names


def variable(prefix: str, field: str, alias: object) -> str:
    return alias if isinstance(alias, str) else f"{prefix}{field}".upper()


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_of_the_service_is_in_the_readme(service: str) -> None:
    settings = importlib.import_module(f"services.{service}.settings").Settings
    documented = documented_variables()
    missing = [
        variable(settings.model_config["env_prefix"], name, field.validation_alias)
        for name, field in settings.model_fields.items()
        if name not in {"service_name", "platform"}
        and variable("<SERVICE>_", name, None) not in documented
        and variable(settings.model_config["env_prefix"], name, field.validation_alias) not in documented
    ]
    assert missing == []


def test_every_platform_setting_is_in_the_readme() -> None:
    documented = documented_variables()
    missing = [f"MEETMALMO_{name}".upper() for name in PlatformSettings.model_fields]
    assert [name for name in missing if name not in documented] == []
    assert set(ServiceSettings.model_fields) - {"service_name", "platform"}  # the <SERVICE>_ rows exist
