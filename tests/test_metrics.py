"""Every service's /metrics on the real parts: after one initiative has gone from the portal to a formed
working group, each service shows what happened (HTTP requests by route, messages through Kafka, relay
publishes, consumer lag, background tasks, emails sent and their SMTP latency, the collaboration KPIs),
and a real Prometheus (Debian's package) scrapes them with the repository's own configuration and rules."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from shared.contracts import Envelope, Topic
from shared.testing import (
    SERVICES,
    drop_database,
    eventually,
    free_port,
    migrated_database,
    new_namespace,
    read_records,
    running_services,
    serve_in_thread,
    staff_headers,
)
from tests.test_observability_config import alert_expressions, dashboard_expressions, metric_names

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
SECRET = "metrics-tests-secret-of-at-least-32-characters"
STAFF = staff_headers(SECRET)
WEB = "http://web.meetmalmo.test"
COORDINATOR = "eva.coordinator@malmo.se"
WAIT = 30.0

PEOPLE = [
    {"name": "Maria Lind", "email": "maria.lind@malmo.se", "organisation_name": "Malmö stad",
     "organisation_type": "municipality", "role_title": "Arbetsmarknadssekreterare",
     "competences": ["mentoring"], "themes": ["employment"]},
    {"name": "Berit Bengtsson", "email": "berit@rekrytering.example", "organisation_name": "Bengtssons AB",
     "organisation_type": "business", "role_title": "VD", "competences": ["recruitment"], "themes": ["employment"]},
    {"name": "Dana Nilsson", "email": "dana@handelskammaren.example", "organisation_name": "Handelskammaren",
     "organisation_type": "industry_organisation", "role_title": "Rådgivare", "competences": ["network_building"],
     "themes": ["employment"]},
]  # fmt: skip
INITIATIVE: dict[str, Any] = {
    "title": "Sommarjobb för unga i Rosengård",
    "summary": "Företag i Malmö erbjuder sommarjobb till unga, tillsammans med staden.",
    "originator": {"organisation_name": "Acme Bygg AB", "organisation_type": "business",
                   "contact_name": "Anna Andersson", "contact_email": "anna.andersson@acme.example"},
    "themes": ["employment"], "seeking": ["collaboration_partners"], "competences_needed": ["recruitment", "mentoring"],
    "group_size": {"min": 3, "max": 3}, "consent": True,
}  # fmt: skip


@dataclass
class Flowed:
    api: dict[str, str]


def samples(text: str, name: str, **labels: str) -> list[float]:
    """The values of `name`'s samples whose labels include `labels`."""
    return [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    ]


def value(text: str, name: str, **labels: str) -> float:
    found = samples(text, name, **labels)
    assert found, f"no sample {name}{labels}"
    return sum(found)


@pytest.fixture(scope="module")
async def flowed(kafka_bootstrap: str, postgres_server: str) -> AsyncIterator[Flowed]:
    """The four services, after one initiative went from the portal to a formed group."""
    from services.web.bootstrap import create_app as create_web
    from services.web.settings import Settings as WebSettings

    databases = {name: await migrated_database(postgres_server, name) for name in SERVICES}
    namespace = new_namespace()
    try:
        with (
            running_services(
                databases, kafka_bootstrap, namespace, secret=SECRET, web_public_url=WEB, coordinators=[COORDINATOR]
            ) as services,
            contextlib.ExitStack() as web,
        ):
            api = services.api
            web_settings = WebSettings(**{f"{name}_url": api[name] for name in SERVICES}, platform=services.platform)
            api["web"] = web.enter_context(serve_in_thread(create_web(web_settings), free_port()))
            await _one_initiative_to_a_formed_group(api, kafka_bootstrap, namespace, databases["matching"])
            await eventually(lambda: services.mailbox.to(COORDINATOR), timeout=WAIT)
            yield Flowed(api)
    finally:
        for url in databases.values():
            await drop_database(url)


async def _one_initiative_to_a_formed_group(api: dict[str, str], bootstrap: str, namespace: str, matching: str) -> None:
    from shared.testing import query_value

    async with httpx.AsyncClient(timeout=10.0) as client:
        for person in PEOPLE:
            body = {**person, "languages": ["sv"], "language": "sv", "capacity": 2}
            answer = await client.post(f"{api['resources']}/api/v1/resources/direct", json=body, headers=STAFF)
            assert answer.status_code == 201, answer.text
        await eventually(lambda: _equals(query_value(matching, "SELECT count(*) FROM resources"), 3), timeout=WAIT)
        submitted = await client.post(f"{api['intake']}/api/v1/initiatives", json=INITIATIVE)
        assert submitted.status_code == 201, submitted.text
        initiative = submitted.json()["id"]
        accepted = await client.post(f"{api['intake']}/api/v1/initiatives/{initiative}/accept", headers=STAFF)
        assert accepted.status_code == 200, accepted.text

        async def proposed() -> list[dict[str, Any]]:
            found = await client.get(f"{api['matching']}/api/v1/groups", params={"initiative_id": initiative},
                                     headers=STAFF)  # fmt: skip
            return found.json()["items"]  # type: ignore[no-any-return]

        (group,) = await eventually(proposed, timeout=WAIT)
        confirmed = await client.post(f"{api['matching']}/api/v1/groups/{group['id']}/confirm", headers=STAFF)
        assert confirmed.status_code == 200, confirmed.text
        records = await read_records(
            bootstrap, namespace + Topic.GROUPS, until=lambda rs: sum(b'"MemberInvited"' in r.value for r in rs) == 3
        )
        for record in records:
            envelope = Envelope.model_validate_json(record.value)
            if envelope.event_type == "MemberInvited":
                token = str(envelope.payload["accept_url"]).removeprefix(f"{WEB}/invitations/")
                answer = await client.post(f"{api['matching']}/api/v1/invitations/{token}")
                assert answer.status_code == 200, answer.text

        async def formed() -> bool:
            found = await client.get(f"{api['intake']}/api/v1/initiatives/{initiative}", headers=STAFF)
            return bool(found.json()["status"] == "group_formed")

        await eventually(formed, timeout=WAIT)


async def _equals(check: Any, expected: Any) -> bool:
    return bool(await check == expected)


async def scrape(api: dict[str, str], service: str) -> str:
    async with httpx.AsyncClient(timeout=10.0) as client:
        answer = await client.get(f"{api[service]}/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


async def test_every_service_counts_its_requests_by_route_template_method_and_status(flowed: Flowed) -> None:
    intake = await scrape(flowed.api, "intake")
    assert value(intake, "http_requests_total", handler="/api/v1/initiatives", method="POST", status="201") == 1
    assert value(intake, "http_requests_total", handler="/api/v1/initiatives/{initiative_id}/accept",
                 method="POST", status="200") == 1  # fmt: skip
    assert value(intake, "http_request_duration_seconds_count", handler="/api/v1/initiatives", method="POST") == 1
    assert not samples(intake, "http_requests_total", handler="/metrics")  # the scrapes themselves are not counted
    resources = await scrape(flowed.api, "resources")
    assert value(resources, "http_requests_total", handler="/api/v1/resources/direct", status="201") == len(PEOPLE)
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{flowed.api['web']}/")).status_code == 200
    web = await scrape(flowed.api, "web")
    assert value(web, "http_requests_total", handler="/", method="GET", status="200") == 1


async def test_the_messaging_kit_shows_what_it_published_consumed_and_what_waits(flowed: Flowed) -> None:
    intake = await scrape(flowed.api, "intake")
    # Submitted and accepted: every row published, none waiting.
    assert value(intake, "meetmalmo_outbox_published_total", topic=Topic.INITIATIVES.value) >= 2
    assert value(intake, "meetmalmo_outbox_pending_rows") == 0
    assert value(intake, "meetmalmo_outbox_oldest_unsent_age_seconds") == 0
    assert value(intake, "meetmalmo_outbox_publish_failures_total") == 0
    # FastStream's middleware: intake consumed the groups topic.
    assert value(intake, "faststream_received_messages_total", app_name="intake") >= 2
    for service in ("intake", "matching", "notifications"):
        text = await scrape(flowed.api, service)
        lags = samples(text, "kafka_consumergroup_lag")
        assert lags, f"{service} shows no consumer lag"
        assert value(text, "kafka_consumergroup_lag") == 0  # caught up once the group was formed
        assert value(text, "meetmalmo_background_task_up", task="outbox-relay") == 1
        assert value(text, "meetmalmo_background_task_up", task="broker-connect") == 1  # done once connected
        assert all(up == 1 for up in samples(text, "meetmalmo_background_task_up")), "a healthy service's tasks"
        assert samples(text, "meetmalmo_dead_letter_messages", topic=f"{_namespace_of(text)}{Topic.INITIATIVES}.dlq")
        assert ".dlq.dlq" not in text  # a dead-letter topic has no dead-letter topic of its own
        assert all(v == 1 for v in samples(text, "meetmalmo_metrics_probe_up"))
        assert value(text, "meetmalmo_ready") == 1
        assert value(text, "meetmalmo_readiness_check", check="database") == 1
    notifications = await scrape(flowed.api, "notifications")
    assert value(notifications, "meetmalmo_background_task_up", task="delivery-sender") == 1
    assert value(notifications, "meetmalmo_background_task_up", task="consumer:notifications") == 1


def _namespace_of(text: str) -> str:
    (topic, *_) = {s.labels["topic"] for f in text_string_to_metric_families(text) for s in f.samples
                   if s.name == "meetmalmo_dead_letter_messages"}  # fmt: skip
    return topic.split("meetmalmo.")[0]


async def test_the_collaboration_figures_are_read_from_each_services_own_data(flowed: Flowed) -> None:
    intake = await scrape(flowed.api, "intake")
    assert value(intake, "meetmalmo_initiatives", status="group_formed") == 1
    assert value(intake, "meetmalmo_initiatives", status="submitted") == 0
    assert value(intake, "meetmalmo_initiative_submission_to_group_formed_seconds_count") == 1
    resources = await scrape(flowed.api, "resources")
    assert value(resources, "meetmalmo_resources", organisation_type="municipality", status="active") == 1
    assert value(resources, "meetmalmo_resources", status="active") == len(PEOPLE)
    matching = await scrape(flowed.api, "matching")
    assert value(matching, "meetmalmo_groups", status="formed") == 1
    assert value(matching, "meetmalmo_groups_reached", stage="confirmed") == 1
    assert value(matching, "meetmalmo_seats", status="accepted") == 3
    assert value(matching, "meetmalmo_seats", status="declined") == 0


async def test_notifications_shows_the_emails_sent_and_the_smtp_latency(flowed: Flowed) -> None:
    text = await scrape(flowed.api, "notifications")
    await eventually(lambda: _no_email_queued(flowed), timeout=WAIT)
    text = await scrape(flowed.api, "notifications")
    sent = value(text, "meetmalmo_emails", status="sent")
    assert sent >= 1 + 3 + 3  # the coordinator's alerts, the invitations, the formed group's emails...
    assert value(text, "meetmalmo_emails", status="failed") == 0
    assert value(text, "meetmalmo_emails_by_template", status="sent", template="group_formed") >= 1
    assert value(text, "meetmalmo_smtp_send_seconds_count", outcome="ok") == sent
    assert samples(text, "meetmalmo_emails_retried")


async def _no_email_queued(flowed: Flowed) -> bool:
    return value(await scrape(flowed.api, "notifications"), "meetmalmo_emails", status="queued") == 0


def exposed_names(text: str) -> set[str]:
    """Every sample name the text holds, and the names a labelled family will have once it has samples."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names |= {sample.name for sample in family.samples}
        names |= {family.name, *((family.name + "_total",) if family.type == "counter" else ())}
        if family.type == "histogram":
            names |= {family.name + suffix for suffix in ("_bucket", "_count", "_sum")}
    return names


async def test_every_metric_the_dashboard_and_the_alerts_read_is_one_a_service_exposes(flowed: Flowed) -> None:
    exposed = {"up"}  # Prometheus's own
    for service in flowed.api:
        exposed |= exposed_names(await scrape(flowed.api, service))
    read = metric_names(dashboard_expressions() + alert_expressions())
    assert read - exposed == set()


# --- a real Prometheus -----------------------------------------------------------------------------


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        pytest.fail("Debian's prometheus package is missing: apt-get install prometheus (.ci/run installs it)")
    return found


@contextlib.contextmanager
def prometheus(api: dict[str, str]) -> Iterator[str]:
    """Prometheus on a free port with deploy/prometheus/prometheus.yml, its targets pointed at `api`,
    scraping every second; yields its base URL."""
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    config["global"]["scrape_interval"] = config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(ROOT / "deploy/prometheus" / rule) for rule in config["rule_files"]]
    config.pop("alerting", None)
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [api[job["job_name"]].removeprefix("http://")]}]
    port = free_port()
    with tempfile.TemporaryDirectory() as here, open(f"{here}/log", "w") as log:
        (Path(here) / "prometheus.yml").write_text(yaml.safe_dump(config))
        process = subprocess.Popen(
            [prometheus_binary(), f"--config.file={here}/prometheus.yml", f"--storage.tsdb.path={here}/data",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            yield f"http://127.0.0.1:{port}"
        except BaseException:
            log.flush()
            print(Path(f"{here}/log").read_text()[-3000:])  # what Prometheus said, beside the failure
            raise
        finally:
            process.terminate()
            process.wait(timeout=30)


async def test_a_real_prometheus_scrapes_every_service_and_answers_for_the_figures(flowed: Flowed) -> None:
    with prometheus(flowed.api) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:

            async def query(promql: str) -> list[dict[str, Any]]:
                try:
                    answer = await client.get("/api/v1/query", params={"query": promql})
                except httpx.TransportError:  # still starting
                    return []
                if answer.status_code != 200:
                    return []
                return answer.json()["data"]["result"]  # type: ignore[no-any-return]

            async def every_target_up() -> bool:
                found = await query("up")
                return len(found) == len(SERVICES) + 1 and all(r["value"][1] == "1" for r in found)

            await eventually(every_target_up, timeout=WAIT, interval=0.5)
            (formed,) = await eventually(lambda: query('meetmalmo_initiatives{status="group_formed"}'), timeout=WAIT)
            assert (formed["metric"]["job"], formed["value"][1]) == ("intake", "1")
            (groups,) = await query('meetmalmo_groups_reached{stage="formed"}')
            assert groups["value"][1] == "1"
            published = await query("sum(meetmalmo_outbox_published_total)")
            assert float(published[0]["value"][1]) > 0
            lag = await query("sum by (job) (kafka_consumergroup_lag)")
            assert {r["metric"]["job"] for r in lag} == {"intake", "matching", "notifications"}
            sent = await query('meetmalmo_emails{status="sent"}')
            assert float(sent[0]["value"][1]) > 0
            for expr in dashboard_expressions():  # every panel's query is one Prometheus accepts
                answer = await client.get("/api/v1/query", params={"query": expr})
                assert answer.status_code == 200 and answer.json()["status"] == "success", (expr, answer.text)
            # The repository's alert rules are loaded, and none fires on a healthy platform.
            rules = (await client.get("/api/v1/rules")).json()["data"]["groups"]
            assert {rule["name"] for group in rules for rule in group["rules"]} >= {
                "ConsumerLagHigh", "OutboxOldestRowOld", "DeadLettersGrowing", "EmailsFailing", "ServiceDown",
            }  # fmt: skip
            await asyncio.sleep(2)
            firing = (await client.get("/api/v1/alerts")).json()["data"]["alerts"]
            assert [a for a in firing if a["state"] == "firing"] == []
