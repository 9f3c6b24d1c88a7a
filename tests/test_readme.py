"""The README is the front door: every setting the code reads is in its table, and the screenshots it
shows exist."""

from __future__ import annotations

import importlib
import re

import pytest

from shared.cli import SERVICES, WEB
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


@pytest.mark.parametrize("service", [*SERVICES, WEB])
def test_every_setting_of_the_service_is_in_the_readme(service: str) -> None:
    settings = importlib.import_module(f"services.{service}.settings").Settings
    documented = documented_variables()
    # The `<SERVICE>_` rows are the four services' shared settings; the web's are named WEB_ each.
    shared_rows = ("<SERVICE>_",) if service in SERVICES else ()
    missing = [
        variable(settings.model_config["env_prefix"], name, field.validation_alias)
        for name, field in settings.model_fields.items()
        if name not in {"service_name", "platform"}
        and not any(variable(prefix, name, None) in documented for prefix in shared_rows)
        and variable(settings.model_config["env_prefix"], name, field.validation_alias) not in documented
    ]
    assert missing == []


def test_the_readme_documents_no_web_setting_the_web_does_not_read() -> None:
    settings = importlib.import_module(f"services.{WEB}.settings").Settings
    read = {f"WEB_{name}".upper() for name in settings.model_fields}
    assert {name for name in documented_variables() if name.startswith("WEB_")} - read == set()


def test_every_screenshot_the_readme_shows_is_in_docs_screenshots() -> None:
    shown = re.findall(r"\(docs/screenshots/([a-z-]+\.png)\)", README)
    assert len(shown) >= 7  # the portal, a refused form, the receipt, inbox, initiative, group, an email link's page
    assert [name for name in shown if not (PROJECT_ROOT / "docs" / "screenshots" / name).is_file()] == []


def test_every_platform_setting_is_in_the_readme() -> None:
    documented = documented_variables()
    missing = [f"MEETMALMO_{name}".upper() for name in PlatformSettings.model_fields]
    assert [name for name in missing if name not in documented] == []
    assert set(ServiceSettings.model_fields) - {"service_name", "platform"}  # the <SERVICE>_ rows exist
