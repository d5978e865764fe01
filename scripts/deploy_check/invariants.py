"""What an SRE relies on in any rendered output, beyond schema validity."""

from __future__ import annotations

from typing import Any, Iterable

SERVICES = ("approval", "catalog", "certificate", "exchange", "gateway")
WORKLOAD_KINDS = {"Deployment", "Job", "StatefulSet", "DaemonSet"}


def pod_spec(document: dict[str, Any]) -> dict[str, Any] | None:
    if document.get("kind") not in WORKLOAD_KINDS:
        return None
    return ((document.get("spec") or {}).get("template") or {}).get("spec") or {}


def name_of(document: dict[str, Any]) -> str:
    return f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"


def check_hardening(docs: Iterable[dict[str, Any]]) -> list[str]:
    """Every container non-root, read-only root filesystem, no capabilities."""
    problems = []
    for document in docs:
        spec = pod_spec(document)
        if spec is None:
            continue
        pod_context = spec.get("securityContext") or {}
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{name_of(document)}: automountServiceAccountToken is not false")
        containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
        for container in containers:
            where = f"{name_of(document)} container {container.get('name')}"
            context = container.get("securityContext") or {}
            non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
            if non_root is not True:
                problems.append(f"{where}: runAsNonRoot is not true")
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem is not true")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            dropped = (context.get("capabilities") or {}).get("drop") or []
            if "ALL" not in dropped:
                problems.append(f"{where}: capabilities do not drop ALL")
    return problems


def check_probes(docs: Iterable[dict[str, Any]]) -> list[str]:
    """Deployments probe the plaintext gRPC health port, never /healthz."""
    problems = []
    for document in docs:
        if document.get("kind") != "Deployment":
            continue
        for container in (pod_spec(document) or {}).get("containers") or []:
            where = f"{name_of(document)} container {container.get('name')}"
            probe_ports = {
                p.get("containerPort") for p in container.get("ports") or [] if p.get("name") == "probe"
            }
            for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
                grpc = (container.get(kind) or {}).get("grpc")
                if not grpc:
                    problems.append(f"{where}: {kind} is not a grpc probe")
                elif grpc.get("port") not in probe_ports:
                    problems.append(f"{where}: {kind} probes port {grpc.get('port')}, not the probe port")
    return problems


def check_per_service(docs: list[dict[str, Any]], values: dict[str, Any]) -> list[str]:
    """A PDB and a NetworkPolicy for each enabled service that asks for one."""
    problems = []
    by_kind: dict[str, set[str]] = {}
    for document in docs:
        component = ((document.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component")
        by_kind.setdefault(document.get("kind", ""), set()).add(component)
    services = values.get("services") or {}
    for service in SERVICES:
        block = services.get(service) or {}
        if not block.get("enabled"):
            continue
        if service not in by_kind.get("Deployment", set()):
            problems.append(f"{service}: no Deployment")
        if (block.get("podDisruptionBudget") or {}).get("enabled") and service not in by_kind.get(
            "PodDisruptionBudget", set()
        ):
            problems.append(f"{service}: podDisruptionBudget.enabled but no PodDisruptionBudget")
        if (values.get("networkPolicy") or {}).get("enabled") and service not in by_kind.get(
            "NetworkPolicy", set()
        ):
            problems.append(f"{service}: networkPolicy.enabled but no NetworkPolicy")
    return problems


def check_no_secret_data(docs: Iterable[dict[str, Any]]) -> list[str]:
    return [
        f"{name_of(d)}: the default render carries secret data"
        for d in docs
        if d.get("kind") == "Secret" and (d.get("data") or d.get("stringData"))
    ]
