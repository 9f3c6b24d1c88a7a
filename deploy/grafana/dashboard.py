"""Writes dashboards/meetmalmo.json, the Grafana dashboard "Meet Malmö — pipeline and collaboration".

Run `python deploy/grafana/dashboard.py` after changing a panel; tests/test_observability_config.py
checks that the JSON is what this writes, and tests/test_metrics.py that every metric it names exists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "meetmalmo-prometheus"}
OUT = Path(__file__).resolve().parent / "dashboards" / "meetmalmo.json"
SERVICES = "intake|resources|matching|notifications|web"


def panel(title: str, description: str, *targets: tuple[str, str], kind: str = "timeseries",
          unit: str = "short", width: int = 8) -> dict[str, Any]:  # fmt: skip
    """A panel; `targets` are (PromQL, legend)."""
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if kind == "timeseries" else {},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(targets)
        ],
        "gridPos": {"w": width, "h": 8},
    }


def row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": {"w": 24, "h": 1}}


PANELS: list[dict[str, Any]] = [
    row("Pipeline: is every event getting through?"),
    panel("Services up", "1 when Prometheus can scrape the service; 0 fires ServiceDown.",
          (f'up{{job=~"{SERVICES}"}}', "{{job}} {{instance}}"), kind="stat"),
    panel("Services ready", "What /readyz answers: 1 ready, 0 not (ServiceNotReady after 5 min).",
          ("min by (job) (meetmalmo_ready)", "{{job}}"), kind="stat"),
    panel("Background tasks", "Relay, sender, sweeps and consumers: 1 runs, 0 stopped (BackgroundTaskStopped).",
          ("min by (job, task) (meetmalmo_background_task_up)", "{{job}} {{task}}"), kind="stat"),
    panel("Consumer lag", "Messages each consumer group has still to process (ConsumerLagHigh above 100 for 5 min).",
          ("sum by (consumergroup) (max by (consumergroup, topic, partition) (kafka_consumergroup_lag))",
           "{{consumergroup}}")),
    panel("Outbox backlog", "Events written but not yet published to Kafka, per service.",
          ("sum by (job) (meetmalmo_outbox_pending_rows)", "{{job}}")),
    panel("Oldest unsent outbox row", "Age of the oldest event waiting for the relay (OutboxOldestRowOld above 5 min).",
          ("max by (job) (meetmalmo_outbox_oldest_unsent_age_seconds)", "{{job}}"), unit="s"),
    panel("Quarantined outbox rows", "Rows the broker can never take (OutboxRowQuarantined): see outbox.quarantined.",
          ("max by (job) (meetmalmo_outbox_quarantined_rows)", "{{job}}"), kind="stat"),
    panel("Relay publishes and failures", "Events published per second, and failed relay batches.",
          ("sum by (job) (rate(meetmalmo_outbox_published_total[5m]))", "{{job}} published"),
          ("sum by (job) (rate(meetmalmo_outbox_publish_failures_total[5m]))", "{{job}} failed batches"),
          unit="ops"),
    panel("Messages consumed", "Kafka messages processed per second by status (FastStream's middleware).",
          ("sum by (app_name, status) (rate(faststream_received_processed_messages_total[5m]))",
           "{{app_name}} {{status}}"), unit="ops"),
    panel("Dead letters waiting", "Messages in each dead-letter topic (DeadLettersGrowing when it grows).",
          ("max by (topic) (meetmalmo_dead_letter_messages)", "{{topic}}")),
    panel("Dead-lettered events", "Events consumers gave up on, per consumer and topic.",
          ("sum by (consumer, topic) (increase(meetmalmo_events_dead_lettered_total[1h]))", "{{consumer}} {{topic}}")),
    panel("HTTP requests", "Requests per second by service and status.",
          ("sum by (job, status) (rate(http_requests_total[5m]))", "{{job}} {{status}}"), unit="reqps"),
    panel("HTTP latency p95", "95th percentile of request duration by service and route.",
          ("histogram_quantile(0.95, sum by (job, handler, le) (rate(http_request_duration_seconds_bucket[5m])))",
           "{{job}} {{handler}}"), unit="s"),
    panel("HTTP server errors", "5xx answers per second: a bug or a dependency away.",
          ('sum by (job, handler) (rate(http_requests_total{status=~"5.."}[5m]))', "{{job}} {{handler}}"),
          unit="reqps"),
    row("Emails"),
    panel("Delivery log", "Emails by status now: queued, sent, failed, held for a digest...",
          ("sum by (status) (meetmalmo_emails)", "{{status}}")),
    panel("SMTP hand-overs", "Sends per second by outcome (ok, or the kind of failure).",
          ("sum by (outcome) (rate(meetmalmo_smtp_send_seconds_count[5m]))", "{{outcome}}"), unit="ops"),
    panel("SMTP latency p95", "95th percentile of the time to hand one email to the server.",
          ("histogram_quantile(0.95, sum by (le) (rate(meetmalmo_smtp_send_seconds_bucket[5m])))", "p95"), unit="s"),
    panel("Emails retried", "Emails that needed more than one try.", ("sum(meetmalmo_emails_retried)", "retried"),
          kind="stat"),
    row("Collaboration"),
    panel("Initiatives by status", "Every initiative intake holds, by status.",
          ("sum by (status) (meetmalmo_initiatives)", "{{status}}"), kind="bargauge"),
    panel("Resources by type and status", "People in the pool.",
          ("sum by (organisation_type, status) (meetmalmo_resources)", "{{organisation_type}} {{status}}"),
          kind="bargauge"),
    panel("Working groups", "Groups that reached each stage: proposed, confirmed (invitations out), formed.",
          ("max by (stage) (meetmalmo_groups_reached)", "{{stage}}"), kind="stat"),
    panel("Invitations declined", "Seats whose invitation was declined.",
          ('max(meetmalmo_seats{status="declined"})', "declined"), kind="stat"),
    panel("Submission to group formed", "Median and 90th percentile of the time from submission to a formed group.",
          ("histogram_quantile(0.5, max by (le) (meetmalmo_initiative_submission_to_group_formed_seconds_bucket))",
           "median"),
          ("histogram_quantile(0.9, max by (le) (meetmalmo_initiative_submission_to_group_formed_seconds_bucket))",
           "p90"), unit="s"),
]  # fmt: skip


def layout(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ids and positions: panels fill rows of 24 columns, a row header starts a new line."""
    x = y = 0
    height = 0
    for number, item in enumerate(panels, start=1):
        pos = item["gridPos"]
        if item["type"] == "row" or x + pos["w"] > 24:
            x, y = 0, y + height
            height = 0
        pos.update(x=x, y=y)
        item["id"] = number
        x += pos["w"]
        height = max(height, pos["h"])
        if item["type"] == "row":
            x, y, height = 0, y + pos["h"], 0
    return panels


def dashboard() -> dict[str, Any]:
    return {
        "uid": "meetmalmo-pipeline",
        "title": "Meet Malmö — pipeline and collaboration",
        "description": "Is every event getting through, are emails going out, and how is the collaboration doing.",
        "tags": ["meetmalmo"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": layout(PANELS),
    }


def render() -> str:
    return json.dumps(dashboard(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
