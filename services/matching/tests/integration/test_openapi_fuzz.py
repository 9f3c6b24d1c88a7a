"""Schemathesis over matching's OpenAPI, against the service running under uvicorn: no 5xx, ever."""

import pytest

from services.matching.tests.conftest import SECRET
from shared.testing import assert_no_server_errors, served, staff_headers

pytestmark = pytest.mark.integration


def test_no_generated_request_gets_a_server_error(postgres_server: str, kafka_bootstrap: str) -> None:
    with served("matching", postgres_server, kafka_bootstrap, secret=SECRET, sweep_seconds=3600) as url:
        assert assert_no_server_errors(url, staff_headers(SECRET)) >= 12
