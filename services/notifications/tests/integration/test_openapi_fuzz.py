"""Schemathesis over notifications's OpenAPI, against the service running under uvicorn: no 5xx, ever."""

import pytest

from services.notifications.tests.conftest import SECRET
from shared.testing import assert_no_server_errors, free_port, served, staff_headers

pytestmark = pytest.mark.integration


def test_no_generated_request_gets_a_server_error(postgres_server: str, kafka_bootstrap: str) -> None:
    # Nothing listens on the SMTP port: nothing is sent either.
    with served(
        "notifications",
        postgres_server,
        kafka_bootstrap,
        secret=SECRET,
        smtp_port=free_port(),
        coordinator_emails=["fuzz@malmo.se"],
    ) as url:
        assert assert_no_server_errors(url, staff_headers(SECRET)) >= 7
