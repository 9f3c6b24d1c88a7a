"""B2n: notifications alone, the emails of `events` InitiativeSubmitted already on the topic.

The bench writes the events onto a fresh topic namespace first (as B4 does), then starts the B2 SMTP sink
and one notifications process (PostgreSQL; a consumer group new to the namespace) and waits until the sink
has every email: two per submission, the originator's receipt and the one coordinator's alert. Emails/s is
taken from the first email at the sink to the last; notifications's CPU per email over the same span (its
process's CPU seconds, from /proc). A run still going after `cap` seconds is stopped there and its figures
are those of the emails sent by then (the table says so); its CPU an email is then too high, since it holds
the consuming of events whose emails were not sent yet. What B2 cannot show, because intake sets its
pace: whether one process keeps up with 200 emails/s.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import infra
from bench.b2_end_to_end import COORDINATOR, _sink
from shared.contracts.initiatives import InitiativeSubmitted, Originator
from shared.migrations import upgrade
from shared.taxonomy import Competence, Language, OrganisationType, Seeking, Theme

EMAILS_PER_EVENT = 2  # the originator's receipt and the coordinator's alert


def _submissions(count: int) -> list[InitiativeSubmitted]:
    now = datetime.now(UTC)
    events = []
    for number in range(1, count + 1):
        initiative_id = uuid.uuid4()
        events.append(InitiativeSubmitted(
            initiative_id=initiative_id, reference=f"MM-2026-{number:05d}", status="submitted",
            title=f"Sommarjobb för unga i Sofielund {number}",
            summary="Fastighetsägare och staden erbjuder sommarjobb tillsammans och följer upp.",
            themes=(Theme.EMPLOYMENT,), seeking=(Seeking.COLLABORATION_PARTNERS,),
            competences_needed=(Competence.PROJECT_MANAGEMENT,), group_size_min=3, group_size_max=6,
            language=Language.SV if number % 2 else Language.EN,
            originator=Originator(organisation_name="Sofielunds Fastighetsägare",
                                  organisation_type=OrganisationType.BUSINESS, contact_name="Karin Lind",
                                  contact_email=f"contact{number}@bench.example"),
            status_url=f"http://127.0.0.1:8001/status/{initiative_id}?token=abc.def", submitted_at=now,
        ))  # fmt: skip
    return events


def _arrived(path: Path) -> int:
    return path.read_text().count("\n") if path.exists() else 0


def _until_all_arrived(arrivals: Path, pid: int, target: int, cap: float) -> dict[str, float]:
    """Watch the sink from the first email on: (emails, seconds, CPU seconds) until `target` or `cap` seconds."""
    deadline = time.monotonic() + cap + 60  # start-up and joining the group: not part of the figures
    while (first := _arrived(arrivals)) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started, cpu_started = time.perf_counter(), infra.cpu_seconds(pid)
    while (done := _arrived(arrivals)) < target and time.perf_counter() - started < cap:
        time.sleep(0.05)
    return {"emails": done - first, "seconds": time.perf_counter() - started,
            "cpu_seconds": infra.cpu_seconds(pid) - cpu_started, "total": done}  # fmt: skip


def run(events: int, cap: float = 60.0, profile: Path | None = None) -> dict[str, Any]:
    url = infra.create_database("b2notify")
    namespace = f"bench.{uuid.uuid4().hex[:8]}."
    work = infra.LOGS / f"b2n-{uuid.uuid4().hex[:6]}"
    work.mkdir(parents=True, exist_ok=True)
    arrivals, smtp_port, target = work / "arrivals.tsv", infra.free_port(), events * EMAILS_PER_EVENT
    try:
        upgrade("notifications", url)
        written = infra.run(infra.write_events(namespace, _submissions(events)))
        env = {"MEETMALMO_TOPIC_NAMESPACE": namespace, "MEETMALMO_ENVIRONMENT": "local",
               "MEETMALMO_LOG_FORMAT": "json", "NOTIFICATIONS_DATABASE_URL": url,
               "NOTIFICATIONS_SMTP_PORT": str(smtp_port), "NOTIFICATIONS_COORDINATOR_EMAILS": COORDINATOR}  # fmt: skip
        app = "services.notifications.bootstrap:create_app"
        with _sink(smtp_port, arrivals), infra.uvicorn("b2n-notifications", app, env, factory=True,
                                                       probe="/healthz") as server:  # fmt: skip
            spy = infra.profile(server.process.pid, min(cap, 20), profile) if profile is not None else None
            figures = _until_all_arrived(arrivals, server.process.pid, target, cap)
            if spy is not None:
                spy.wait(timeout=60)
    finally:
        infra.drop_database(url)
        infra.delete_topics(namespace)
    emails, seconds = figures["emails"], figures["seconds"]
    result = {"events": events, "target": target, "sent": int(figures["total"]), "capped": figures["total"] < target,
              "write_seconds": written, "seconds": seconds, "emails_per_second": emails / seconds if seconds else 0.0,
              "cpu_ms_per_email": 1000 * figures["cpu_seconds"] / emails if emails else None}  # fmt: skip
    stopped = f", stopped after {cap:.0f} s with {result['sent']:,} sent" if result["capped"] else ""
    cpu = result["cpu_ms_per_email"]
    print(f"  B2n notifications alone, {target:,} emails of {events:,} submissions: "
          f"{result['emails_per_second']:.0f} emails/s ({seconds:.1f} s{stopped}); "
          f"{cpu if cpu is None else round(cpu, 2)} ms of CPU an email", flush=True)  # fmt: skip
    return result


if __name__ == "__main__":  # by hand: python -m bench.b2_notify [events] [cap seconds] [py-spy output]
    import sys

    arguments = sys.argv[1:]
    run(int(arguments[0]) if arguments else 3_000, float(arguments[1]) if len(arguments) > 1 else 60.0,
        Path(arguments[2]) if len(arguments) > 2 else None)  # fmt: skip
