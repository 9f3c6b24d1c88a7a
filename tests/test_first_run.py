"""What a new user meets first: the CLI's errors, the local mailbox's files, log lines in one format."""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
import socket
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shared.broker import create_broker
from shared.cli import app
from shared.logs import StartupNoise, configure_logging
from shared.mailbox import start_mailbox
from shared.testing import free_port

runner = CliRunner()


def test_a_bad_setting_in_any_command_is_one_clear_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETMALMO_AUTH_JWT_SECRET", "short")
    result = runner.invoke(app, ["token", "--role", "coordinator", "--email", "eva@malmo.se"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "MEETMALMO_AUTH_JWT_SECRET" in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("hours", ["0", "-1"])
def test_a_token_that_would_be_born_expired_is_refused(hours: str) -> None:
    result = runner.invoke(app, ["token", "--role", "coordinator", "--email", "eva@malmo.se", "--hours", hours])
    assert result.exit_code == 2
    assert "--hours" in result.output


def test_dash_h_shows_the_help() -> None:
    result = runner.invoke(app, ["-h"])
    assert result.exit_code == 0 and "Usage" in result.output and "run" in result.output
    assert runner.invoke(app, ["token", "-h"]).exit_code == 0


def test_a_second_run_says_in_one_line_that_the_platform_already_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("INTAKE_PORT", str(taken.getsockname()[1]))
        result = runner.invoke(app, ["run"])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert "INTAKE_PORT" in result.output  # not our intake: something else holds the port


def test_the_file_mailbox_keeps_a_readable_copy_named_for_the_recipient(tmp_path: Path) -> None:
    port = free_port()
    controller = start_mailbox(tmp_path, port=port)
    link = "http://127.0.0.1:8002/confirm/" + "a" * 120  # longer than a quoted-printable line
    message = EmailMessage()
    message["From"] = "Meet Malmö <noreply@meetmalmo.se>"
    message["To"] = "berit@example.org"
    message["Subject"] = "Bekräfta din registrering hos Meet Malmö"
    message.set_content(f"Hej Berit!\n\nBekräfta här: {link}\n", cte="quoted-printable")
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(message)
    finally:
        controller.stop()
    (readable,) = tmp_path.glob("*.txt")
    (original,) = tmp_path.glob("*.eml")
    assert "berit@example.org" in readable.name and readable.stem == original.stem
    text = readable.read_text()
    assert "Subject: Bekräfta din registrering hos Meet Malmö" in text
    assert link in text  # whole, not broken across lines with '='


def test_faststream_lines_go_through_the_project_logging_as_json_without_colour(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("probe", "json", "DEBUG")
    logging.getLogger("faststream").info("Received")
    err = capsys.readouterr().err.strip().splitlines()
    line = json.loads(err[-1])
    assert line["event"] == "Received" and line["service"] == "probe"
    assert "\x1b[" not in err[-1]
    configure_logging("probe", "json", "INFO")


def test_faststream_reports_each_message_at_debug_not_info() -> None:
    broker = create_broker("127.0.0.1:1", "probe")
    assert broker.config.logger.log_level == logging.DEBUG  # type: ignore[attr-defined]


def test_a_cold_brokers_coordinator_errors_are_debug_lines_only_while_it_starts() -> None:
    def record() -> logging.LogRecord:
        return logging.LogRecord(
            "aiokafka.consumer.group_coordinator", logging.ERROR, __file__, 1,
            "Group Coordinator Request failed: [Error 15] GroupCoordinatorNotAvailableError", None, None,
        )  # fmt: skip

    starting, later = record(), record()
    StartupNoise(window_seconds=60).filter(starting)
    StartupNoise(window_seconds=0).filter(later)
    assert starting.levelname == "DEBUG" and "broker still starting" in starting.getMessage()
    assert later.levelname == "ERROR"


def test_the_relay_loop_logs_no_colour_codes_in_console_format_when_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("probe", "console", "INFO")
    logging.getLogger("shared.outbox").warning("outbox.probe")
    asyncio.run(asyncio.sleep(0))
    err = capsys.readouterr().err
    assert "outbox.probe" in err and "\x1b[" not in err
    configure_logging("probe", "json", "INFO")
