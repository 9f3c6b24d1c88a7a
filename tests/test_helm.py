"""The Helm chart (deploy/helm/meetmalmo) cannot be installed here (no cluster); it must still lint,
render, and set only what the code reads, the way tests/test_docker_compose.py checks Compose."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.web.settings import Settings as WebSettings
from shared.settings import PlatformSettings, load_settings
from tests.test_docker_compose import SETTINGS, env_names

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "deploy/helm/meetmalmo"
HELM = ROOT / "deploy/helm/bin/helm"
KUBE_VERSION = "1.31.0"
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - inside a pod, to be reached through its Service
# Read by the OpenTelemetry SDK (shared/tracing.py), not by a settings class.
READ_BY_LIBRARIES = {"OTEL_EXPORTER_OTLP_ENDPOINT"}
# Whatever is a secret, or carries one, comes from the Kubernetes Secret and never from a literal value.
SECRET = re.compile(r"(SECRET|PASSWORD|DATABASE_URL)$")
Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="module")
def helm() -> Path:
    """deploy/helm/bin/helm, built with Go by deploy/helm/build.sh when it is not there yet."""
    subprocess.run(["bash", str(ROOT / "deploy/helm/build.sh")], check=True)
    return HELM


@pytest.fixture(scope="module")
def render(helm: Path) -> Render:
    def rendered(*values: str) -> list[dict[str, Any]]:
        options = [option for value in values for option in ("--set", value)]
        command = [str(helm), "template", "meetmalmo", str(CHART), "--kube-version", KUBE_VERSION, *options]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        return [document for document in yaml.safe_load_all(out) if document]

    return rendered


def of_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"].removeprefix("meetmalmo-"): d for d in documents if d["kind"] == kind}


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only  # type: ignore[no-any-return]


def environment(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    variables = container(workload)["env"]
    names = [variable["name"] for variable in variables]
    assert len(names) == len(set(names)), f"a variable is set twice: {names}"
    return {variable["name"]: variable for variable in variables}


def known_variables() -> set[str]:
    return env_names(PlatformSettings).union(*(env_names(cls) for cls in (*SETTINGS.values(), WebSettings)))


def test_the_chart_lints_strictly(helm: Path) -> None:
    lint = subprocess.run(
        [str(helm), "lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize(
    "values",
    [
        (),
        # A test cluster in local mode, an SMTP login, tracing, a namespace, further settings.
        (
            "environment=local",
            "auth.jwksUrl=",
            "web.oidc.issuer=",
            "notifications.smtp.username=meetmalmo",
            "platform.otlpEndpoint=http://otel-collector:4318",
            "kafka.topicNamespace=staging.",
            "platform.env.MEETMALMO_OUTBOX_POLL_SECONDS=0.5",
            "services.matching.env.MATCHING_SWEEP_SECONDS=30",
        ),
    ],
    ids=["production", "local-with-every-option"],
)
def test_every_variable_the_chart_sets_is_one_the_code_reads_and_every_secret_comes_from_the_secret(
    render: Render, values: tuple[str, ...]
) -> None:
    documents = render(*values)
    workloads = {**of_kind(documents, "Deployment"), **of_kind(documents, "Job")}
    assert set(workloads) == {*SETTINGS, "web", "migrate"}
    known = known_variables() | READ_BY_LIBRARIES
    for name, workload in workloads.items():
        variables = environment(workload)
        unknown = set(variables) - known
        assert not unknown, f"{name} sets variables no code reads: {unknown}"
        for variable, entry in variables.items():
            if SECRET.search(variable):
                assert "value" not in entry, f"{name}: {variable} is written in the chart"
                assert entry["valueFrom"]["secretKeyRef"]["name"] == "meetmalmo-secrets"
            else:
                assert "value" in entry, f"{name}: {variable}"


def test_production_takes_staff_tokens_and_sign_in_from_the_identity_provider_and_no_local_secret(
    render: Render,
) -> None:
    for missing, message in (
        ("auth.jwksUrl=", "production needs auth.jwksUrl"),
        ("auth.audience=", "auth.issuer and auth.audience"),
        ("web.oidc.issuer=", "production needs web.oidc.issuer"),
        ("environment=staging", "environment is production or local"),
    ):
        with pytest.raises(subprocess.CalledProcessError) as refused:
            render(missing)
        assert message in str(refused.value.stderr), missing
    deployments = of_kind(render(), "Deployment")
    for workload in deployments.values():
        variables = environment(workload)
        assert variables["MEETMALMO_ENVIRONMENT"]["value"] == "production"
        assert "MEETMALMO_AUTH_JWT_SECRET" not in variables
        assert variables["MEETMALMO_AUTH_AUDIENCE"]["value"] == "meetmalmo"
    web = environment(deployments["web"])
    assert web["WEB_OIDC_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == "web-oidc-client-secret"


@pytest.mark.parametrize("values", [(), ("environment=local", "auth.jwksUrl=", "web.oidc.issuer=")])
def test_what_the_chart_sets_the_code_accepts_at_start_up_secrets_included(
    render: Render, values: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each pod's environment, with long random values where the Secret's keys go, passes the settings'
    validation and their production checks of secrets: the pods would start."""
    for name in [n for n in os.environ if n.startswith(("MEETMALMO_", *(f"{s.upper()}_" for s in (*SETTINGS, "web"))))]:
        monkeypatch.delenv(name)
    for name, workload in of_kind(render(*values), "Deployment").items():
        with monkeypatch.context() as pod:
            for variable, entry in environment(workload).items():
                if "value" in entry:
                    pod.setenv(variable, entry["value"])
                elif variable.endswith("DATABASE_URL"):
                    pod.setenv(variable, f"postgresql+asyncpg://{name}:{secrets.token_hex(16)}@postgres:5432/{name}")
                else:
                    pod.setenv(variable, secrets.token_hex(32))
            settings = load_settings(WebSettings if name == "web" else SETTINGS[name])
            assert settings.secret_problems() == [], name
            assert settings.port == int(environment(workload)[f"{name.upper()}_PORT"]["value"])


def test_each_service_is_two_replicas_on_its_own_port_with_its_own_database_and_link_secret(render: Render) -> None:
    documents = render()
    deployments, services = of_kind(documents, "Deployment"), of_kind(documents, "Service")
    for name, cls in SETTINGS.items():
        deployment, port = deployments[name], cls.model_fields["port"].default
        assert deployment["spec"]["replicas"] == 2
        assert container(deployment)["command"] == ["meetmalmo", "serve", name]
        assert container(deployment)["ports"] == [{"name": "http", "containerPort": port}]
        assert services[name]["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]
        assert services[name]["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
        variables = environment(deployment)
        prefix = name.upper()
        assert variables[f"{prefix}_HOST"]["value"] == EVERY_INTERFACE
        assert variables[f"{prefix}_PORT"]["value"] == str(port)
        assert variables[f"{prefix}_PUBLIC_URL"]["value"] == f"http://meetmalmo-{name}:{port}"
        assert variables[f"{prefix}_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == f"{name}-database-url"
        assert variables[f"{prefix}_LINK_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == f"{name}-link-secret"
        assert variables["MEETMALMO_WEB_PUBLIC_URL"]["value"] == "https://meetmalmo.malmo.se"  # links in emails
        # The profile link's key, the same for the service that signs it (at send time) and the one verifying it.
        profile_link = variables.get("MEETMALMO_PROFILE_LINK_SECRET")
        if name in {"resources", "notifications"}:
            assert profile_link is not None and profile_link["valueFrom"]["secretKeyRef"] == {
                "name": "meetmalmo-secrets",
                "key": "profile-link-secret",
            }, name
        else:
            assert profile_link is None, name
    assert "MEETMALMO_PROFILE_LINK_SECRET" not in environment(deployments["web"])


def test_the_web_asks_each_service_by_its_kubernetes_service_name_and_port(render: Render) -> None:
    documents = render()
    web = environment(of_kind(documents, "Deployment")["web"])
    services = of_kind(documents, "Service")
    assert container(of_kind(documents, "Deployment")["web"])["command"] == ["meetmalmo", "serve", "web"]
    assert web["WEB_PORT"]["value"] == str(WebSettings.model_fields["port"].default)
    for name in SETTINGS:
        port = services[name]["spec"]["ports"][0]["port"]
        assert web[f"WEB_{name.upper()}_URL"]["value"] == f"http://{services[name]['metadata']['name']}:{port}"
    assert web["WEB_PUBLIC_URL"]["value"] == web["MEETMALMO_WEB_PUBLIC_URL"]["value"]
    assert web["WEB_SESSION_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == "web-session-secret"
    # Locally the web mints staff tokens the services must accept: the same key of the same Secret everywhere.
    local = of_kind(render("environment=local", "auth.jwksUrl=", "web.oidc.issuer="), "Deployment").values()
    keys = {str(environment(d)["MEETMALMO_AUTH_JWT_SECRET"]["valueFrom"]["secretKeyRef"]) for d in local}
    assert len(keys) == 1


def test_every_pod_is_probed_limited_unprivileged_scraped_and_kept_up_through_a_drain(render: Render) -> None:
    documents = render()
    budgets = of_kind(documents, "PodDisruptionBudget")
    for name, deployment in of_kind(documents, "Deployment").items():
        pod, main = deployment["spec"]["template"], container(deployment)
        assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert main["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert main["readinessProbe"]["httpGet"] == {"path": "/readyz?scope=traffic", "port": "http"}
        assert main["resources"]["requests"]["cpu"] and main["resources"]["requests"]["memory"]
        assert main["resources"]["limits"]["memory"]
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert pod["spec"]["securityContext"]["runAsUser"] != 0
        assert main["securityContext"]["allowPrivilegeEscalation"] is False
        assert main["securityContext"]["readOnlyRootFilesystem"] is True
        assert {"name": "tmp", "mountPath": "/tmp"} in main["volumeMounts"]  # noqa: S108 - MEETMALMO_VAR_DIR, in the pod
        assert pod["metadata"]["annotations"] == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(main["ports"][0]["containerPort"]),
            "prometheus.io/path": "/metrics",
        }
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        budget = budgets[name]["spec"]
        assert budget["minAvailable"] == 1 < deployment["spec"]["replicas"]
        assert budget["selector"] == deployment["spec"]["selector"]
    assert of_kind(render("services.matching.replicas=3"), "Deployment")["matching"]["spec"]["replicas"] == 3
    with pytest.raises(subprocess.CalledProcessError) as refused:
        render("services.web.replicas=1")  # its budget could then never let a pod go
    assert "would block every node drain" in str(refused.value.stderr)


def test_the_migrations_run_once_as_a_hook_job_before_install_and_upgrade_with_every_database(
    render: Render,
) -> None:
    job = of_kind(render(), "Job")["migrate"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert container(job)["command"] == ["meetmalmo", "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    variables = environment(job)
    for name in SETTINGS:
        assert variables[f"{name.upper()}_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == f"{name}-database-url"


def test_only_the_web_is_published_when_the_ingress_is_on(render: Render) -> None:
    assert of_kind(render(), "Ingress") == {}
    (ingress,) = of_kind(render("web.ingress.enabled=true"), "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["backend"]["service"] == {"name": "meetmalmo-web", "port": {"name": "http"}}


def test_topics_are_made_for_three_brokers_replication_3_and_min_isr_2(render: Render) -> None:
    documents = render()
    for workload in (*of_kind(documents, "Deployment").values(), *of_kind(documents, "Job").values()):
        variables = {name: entry["value"] for name, entry in environment(workload).items() if "value" in entry}
        assert variables["MEETMALMO_TOPIC_REPLICATION_FACTOR"] == "3"
        assert variables["MEETMALMO_TOPIC_MIN_INSYNC_REPLICAS"] == "2"
        assert int(variables["MEETMALMO_TOPIC_PARTITIONS"]) >= 2 * 2  # room for more replicas than two
        # A consumer's de-duplication marks outlive the records they guard against.
        kept_hours = float(variables["MEETMALMO_PROCESSED_EVENTS_RETENTION_DAYS"]) * 24
        assert kept_hours > float(variables["MEETMALMO_TOPIC_RETENTION_HOURS"])
    for wrong, message in (
        ("kafka.topics.minInsyncReplicas=4", "cannot exceed"),
        ("kafka.topics.retentionHours=720", "processedEventsRetentionDays"),
    ):
        with pytest.raises(subprocess.CalledProcessError) as refused:
            render(wrong)
        assert message in str(refused.value.stderr), wrong
