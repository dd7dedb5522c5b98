"""deploy/k8s: valid against the Kubernetes schemas (strict), and saying what serve.sh's nginx says."""
from __future__ import annotations

import re

import kubernetes_validate
import pytest
import yaml

from app.config import MEGABYTE, Config
from inference.paths import REPO_ROOT

K8S = REPO_ROOT / "deploy" / "k8s"
NGINX = (REPO_ROOT / "deploy" / "nginx.conf.template").read_text()
SERVE = (REPO_ROOT / "scripts" / "serve.sh").read_text()


def documents(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def by_kind(kind: str) -> list[dict]:
    return [d for path in sorted(K8S.glob("*.yaml")) for d in documents(path.name) if d["kind"] == kind]


@pytest.mark.parametrize("name", sorted(path.name for path in K8S.glob("*.yaml")))
def test_manifests_are_valid_kubernetes_in_strict_mode(name):
    for document in documents(name):
        kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


def test_a_misspelt_field_is_caught():
    """The check above can fail: strict mode refuses a field the schema does not have."""
    deployment = by_kind("Deployment")[0]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["periodSecond"] = 5
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)


def test_ingress_limits_are_serve_shs():
    uploads, pages = by_kind("Ingress")
    annotations = uploads["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    rate = int(annotations[prefix + "limit-rps"])
    assert rate * 60 == Config.RATE_LIMIT
    assert rate * int(annotations[prefix + "limit-burst-multiplier"]) == \
        int(re.search(r"burst=(\d+)", SERVE).group(1))
    read_timeout = re.search(r"proxy_read_timeout (\d+)s", NGINX).group(1)
    for ingress in (uploads, pages):
        annotations = ingress["metadata"]["annotations"]
        assert annotations[prefix + "proxy-body-size"] == f"{Config.MAX_CONTENT_LENGTH // MEGABYTE}m"
        assert annotations[prefix + "proxy-read-timeout"] == read_timeout
        assert annotations[prefix + "proxy-request-buffering"] == "on"
        assert annotations[prefix + "proxy-next-upstream"] == "error non_idempotent"
    assert "limit-rps" not in str(pages["metadata"]["annotations"])
    assert {p["path"] for r in uploads["spec"]["rules"] for p in r["http"]["paths"]} == {"/api/v1/predict", "/analyse"}


def routed(path: str) -> bool:
    return any(p["path"] == path if p["pathType"] == "Exact" else path.startswith(p["path"])
               for ingress in by_kind("Ingress") for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"])


def test_ingress_routes_every_public_route_and_never_metrics(app):
    """/metrics is the scraper's, app.limits' routes the proxy's own (nginx marks them internal)."""
    rules = list(app.url_map.iter_rules())
    hidden = {r.rule for r in rules if r.endpoint == "metrics" or r.endpoint.startswith("limits.")}
    public = {r.rule.replace("<path:filename>", "style.css") for r in rules} - hidden
    assert {"/metrics", "/too-many-uploads", "/api/v1/too-many-uploads"} <= hidden
    assert [route for route in sorted(public) if not routed(route)] == []
    assert [route for route in sorted(hidden) if routed(route)] == []


def test_pods_are_probed_on_healthz_and_listen_where_the_service_looks():
    container = by_kind("Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    env = {variable["name"]: variable for variable in container["env"]}
    assert env["BUSI_BIND"]["value"] == f"0.0.0.0:{container['ports'][0]['containerPort']}"
    assert env["BUSI_MODEL_THREADS"]["value"] == "1"
    assert "secretKeyRef" in env["BUSI_SECRET_KEY"]["valueFrom"]
    assert by_kind("Service")[0]["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]
