"""The watching parts that cannot run here (Grafana, the collector, Jaeger; no Docker engine) must still
hold together: the dashboard is the one deploy/grafana/dashboard.py writes, its panels sit on the grid
without overlapping and ask the provisioned data source, Compose mounts what the provisioning names, and
every image is pinned. (That each metric they name exists is proved in tests/test_metrics.py.)"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
GRAFANA = ROOT / "deploy/grafana"
METRIC = re.compile(r"\b((?:meetmalmo|kafka|http|faststream)_[a-z_]+|up)\b(?=\s*[{\[)]|\s*$|\s*[=<>!])")


def dashboard_module() -> Any:
    spec = importlib.util.spec_from_file_location("dashboard", GRAFANA / "dashboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dashboard() -> dict[str, Any]:
    return json.loads((GRAFANA / "dashboards/meetmalmo.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def dashboard_expressions() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel.get("targets", ())]


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    return [str(rule["expr"]) for group in rules["groups"] for rule in group["rules"]]


def metric_names(expressions: list[str]) -> set[str]:
    """The metric names a set of PromQL expressions reads (functions and labels are not matched)."""
    return {name for expr in expressions for name in METRIC.findall(expr)}


def test_the_committed_dashboard_is_what_the_generator_writes() -> None:
    assert (GRAFANA / "dashboards/meetmalmo.json").read_text(encoding="utf-8") == dashboard_module().render()


def test_the_dashboard_is_named_and_every_panel_asks_the_provisioned_prometheus() -> None:
    board = dashboard()
    assert board["title"] == "Meet Malmö — pipeline and collaboration"
    provisioned = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = provisioned["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    panels = [panel for panel in board["panels"] if panel["type"] != "row"]
    assert len(panels) >= 15
    for panel in panels:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert panel["targets"] and all(t["expr"].strip() and t["datasource"]["uid"] == source["uid"]
                                        for t in panel["targets"]), panel["title"]  # fmt: skip
        assert panel["description"], f"{panel['title']} says what it shows"


def test_panels_have_unique_ids_and_do_not_overlap_on_the_grid() -> None:
    board = dashboard()
    assert len({panel["id"] for panel in board["panels"]}) == len(board["panels"])
    taken: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24
        cells = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_the_dashboard_shows_every_figure_the_operators_watch() -> None:
    names = metric_names(dashboard_expressions())
    assert names >= {
        "up", "meetmalmo_ready", "meetmalmo_background_task_up", "kafka_consumergroup_lag",
        "meetmalmo_outbox_pending_rows",
        "meetmalmo_outbox_oldest_unsent_age_seconds", "meetmalmo_outbox_published_total",
        "meetmalmo_outbox_publish_failures_total", "meetmalmo_dead_letter_messages",
        "meetmalmo_events_dead_lettered_total", "faststream_received_processed_messages_total", "http_requests_total",
        "http_request_duration_seconds_bucket", "meetmalmo_emails", "meetmalmo_smtp_send_seconds_bucket",
        "meetmalmo_initiatives", "meetmalmo_resources", "meetmalmo_groups_reached", "meetmalmo_seats",
        "meetmalmo_initiative_submission_to_group_formed_seconds_bucket",
    }  # fmt: skip


def test_grafana_in_compose_loads_the_provisioning_and_the_dashboard_from_the_repository() -> None:
    grafana = compose()["services"]["grafana"]
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/meetmalmo.yml").read_text())["providers"][0]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in grafana["volumes"]


def test_prometheus_in_compose_runs_the_repository_configuration_and_scrapes_every_service_by_name() -> None:
    services = compose()["services"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    for name in ("intake", "resources", "matching", "notifications", "web"):
        (port,) = {p.split(":")[1] for p in services[name]["ports"]}
        assert targets[name] == [f"{name}:{port}"]


def test_traces_go_from_every_service_through_the_collector_to_jaeger() -> None:
    services = compose()["services"]
    for name in ("intake", "resources", "matching", "notifications", "web"):
        assert services[name]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    collector = yaml.safe_load((ROOT / "deploy/otel-collector/config.yaml").read_text())
    assert collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    (exporter,) = collector["service"]["pipelines"]["traces"]["exporters"]
    assert collector["exporters"][exporter]["endpoint"] == "jaeger:4317"


def test_every_image_compose_pulls_is_pinned_to_a_version() -> None:
    for name, service in compose()["services"].items():
        if "image" in service:
            image, _, tag = service["image"].rpartition(":")
            assert image and re.match(r"v?\d", tag), f"{name}: {service['image']} is not pinned"
