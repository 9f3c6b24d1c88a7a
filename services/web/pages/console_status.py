"""The console's status page, for operators and coordinators: is every service ready, is every event getting
through (consumer lag, outbox backlog and the age of its oldest event, background tasks, dead letters), are
emails going out, and the collaboration's figures. Read from each service's /readyz and /metrics (the same
figures Prometheus scrapes), so the page needs nothing else running; it keeps nothing."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import HTMLResponse
from prometheus_client.parser import text_string_to_metric_families

from services.web.adapters.rendering import N_
from services.web.adapters.services import ServiceClient, ServiceUnavailable
from services.web.pages.console_emails import DELIVERY_STATUSES
from services.web.pages.console_resources import console
from services.web.pages.edges import PagesDep, ServicesDep, page_router
from services.web.pages.staff_auth import StaffDep

router = page_router()

INITIATIVE_STATUSES = {
    "submitted": N_("Submitted"),
    "info_requested": N_("Waiting for the originator's answer"),
    "accepted": N_("Accepted"),
    "group_forming": N_("Working group forming"),
    "group_formed": N_("Working group formed"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
    "closed": N_("Closed"),
}
GROUP_STAGES = {
    "proposed": N_("Proposed"),
    "confirmed": N_("Confirmed: invitations sent"),
    "formed": N_("Formed"),
}
DEAD_LETTERS = "meetmalmo_dead_letter_messages"


Samples = dict[str, list[tuple[dict[str, str], float]]]
"""metric sample name -> (labels, value) of each sample."""


def parse(text: str) -> Samples:
    samples: Samples = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name].append((dict(sample.labels), sample.value))
    return samples


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for found, v in samples.get(name, ()) if all(found.get(k) == want for k, want in labels.items()))


def by_label(samples: Samples, name: str, label: str, **labels: str) -> dict[str, float]:
    counted: dict[str, float] = defaultdict(float)
    for found, value in samples.get(name, ()):
        if all(found.get(k) == want for k, want in labels.items()):
            counted[found.get(label, "")] += value
    return dict(counted)


def counts(samples: Samples, name: str, label: str, **labels: str) -> dict[str, int]:
    return {code: int(n) for code, n in by_label(samples, name, label, **labels).items()}


@dataclass
class ServiceStatus:
    """One service as the page shows it; `answering` False when its /metrics could not be read."""

    name: str
    ready: bool
    answering: bool
    samples: Samples = field(default_factory=dict)

    @property
    def lag(self) -> int | None:
        found = self.samples.get("kafka_consumergroup_lag")
        return None if found is None else int(sum(v for _, v in found))

    @property
    def outbox_pending(self) -> int:
        return int(total(self.samples, "meetmalmo_outbox_pending_rows"))

    @property
    def outbox_quarantined(self) -> int:
        return int(total(self.samples, "meetmalmo_outbox_quarantined_rows"))

    @property
    def outbox_oldest_seconds(self) -> int:
        return int(total(self.samples, "meetmalmo_outbox_oldest_unsent_age_seconds"))

    @property
    def stopped_tasks(self) -> list[str]:
        return sorted(labels["task"] for labels, v in self.samples.get("meetmalmo_background_task_up", ()) if v == 0)

    @property
    def failing_checks(self) -> list[str]:
        """The readiness checks that fail (what /readyz would name), as the service's metrics report them."""
        return sorted(labels["check"] for labels, v in self.samples.get("meetmalmo_readiness_check", ()) if v == 0)

    @property
    def unread(self) -> list[str]:
        """Figures the service could not read this time (its database or Kafka away)."""
        return sorted(labels["probe"] for labels, v in self.samples.get("meetmalmo_metrics_probe_up", ()) if v == 0)


async def status_of(name: str, client: ServiceClient) -> ServiceStatus:
    async def ready() -> bool:
        try:
            return (await client.get("/readyz")).status_code == 200
        except ServiceUnavailable:  # 503 (not ready) or not answering at all
            return False

    async def metrics() -> Samples | None:
        try:
            answer = await client.get("/metrics")
        except ServiceUnavailable:
            return None
        return parse(answer.text) if answer.status_code == 200 else None

    is_ready, samples = await asyncio.gather(ready(), metrics())
    return ServiceStatus(name, is_ready, samples is not None, samples or {})


def dead_letters(statuses: list[ServiceStatus]) -> dict[str, int]:
    """Messages in each dead-letter topic; every service reports every topic, so the highest count is it."""
    found: dict[str, int] = {}
    for status in statuses:
        for labels, value in status.samples.get(DEAD_LETTERS, ()):
            found[labels["topic"]] = max(found.get(labels["topic"], 0), int(value))
    return found


def mean_days(samples: Samples, name: str) -> float | None:
    count = total(samples, f"{name}_count")
    return None if count == 0 else total(samples, f"{name}_sum") / count / 86400


@router.get("/staff/status", response_class=HTMLResponse)
async def status_page(request: Request, pages: PagesDep, services: ServicesDep, staff: StaffDep) -> HTMLResponse:
    clients = {
        "intake": services.intake,
        "resources": services.resources,
        "matching": services.matching,
        "notifications": services.notifications,
    }
    statuses = list(await asyncio.gather(*(status_of(name, client) for name, client in clients.items())))
    of = {status.name: status.samples for status in statuses}
    emails = by_label(of["notifications"], "meetmalmo_emails", "status")
    context = {
        **console(request, pages, staff),
        "services": statuses,
        "all_ready": all(s.ready for s in statuses),
        "dead_letters": dead_letters(statuses),
        "emails": {code: int(emails.get(code, 0)) for code in DELIVERY_STATUSES},
        "emails_known": bool(of["notifications"]),
        "emails_retried": int(total(of["notifications"], "meetmalmo_emails_retried")),
        "delivery_statuses": DELIVERY_STATUSES,
        "initiatives": counts(of["intake"], "meetmalmo_initiatives", "status"),
        "initiative_statuses": INITIATIVE_STATUSES,
        "formation_days": mean_days(of["intake"], "meetmalmo_initiative_submission_to_group_formed_seconds"),
        "resources": counts(of["resources"], "meetmalmo_resources", "organisation_type", status="active"),
        "groups": counts(of["matching"], "meetmalmo_groups_reached", "stage"),
        "group_stages": GROUP_STAGES,
        "declined": int(total(of["matching"], "meetmalmo_seats", status="declined")),
    }
    return pages.render(request, "staff/status.html", context)
