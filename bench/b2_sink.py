"""B2's SMTP sink, a process of its own (so it is not the bottleneck): takes every message, and writes one
line per coordinator alert: the wall-clock time it arrived and the initiative reference its subject names.

    .venv/bin/python -m bench.b2_sink PORT COORDINATOR_ADDRESS OUTPUT
"""

from __future__ import annotations

import email
import email.policy
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

REFERENCE = re.compile(r"MM-\d{4}-\d+")


class Recorder:
    def __init__(self, coordinator: str, output: TextIO) -> None:
        self.coordinator = coordinator.lower()
        self.output = output

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        arrived = time.time()
        if self.coordinator in (address.lower() for address in envelope.rcpt_tos):
            subject = str(email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
                          .get("Subject", ""))  # fmt: skip
            found = REFERENCE.search(subject)
            self.output.write(f"{arrived:.6f}\t{found.group(0) if found else '?'}\n")
        else:
            self.output.write(f"{arrived:.6f}\tother\n")
        return "250 OK"


def main() -> None:
    port, coordinator, output = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    with output.open("w", buffering=1) as out:  # line-buffered: the bench reads it while it runs
        controller = Controller(Recorder(coordinator, out), hostname="127.0.0.1", port=port,
                                decode_data=False, ready_timeout=30)  # fmt: skip
        controller.start()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        print("ready", flush=True)
        stop.wait()
        controller.stop()


if __name__ == "__main__":
    main()
