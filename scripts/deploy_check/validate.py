"""Strict schema validation of rendered Kubernetes objects."""

from __future__ import annotations

from typing import Any

import kubernetes_validate

KUBERNETES_VERSION = "1.30.0"

# Custom resources of the Prometheus Operator: kubernetes-validate ships no
# schema for them, so their shape is checked here instead. Every other kind
# without a schema is a failure.
CRD_KINDS = {
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
}


def describe(document: dict[str, Any]) -> str:
    name = (document.get("metadata") or {}).get("name", "?")
    return f"{document.get('kind', '?')}/{name}"


def validate(document: dict[str, Any]) -> list[str]:
    """Problems of one object; empty when it is valid."""
    key = (document.get("apiVersion"), document.get("kind"))
    if key in CRD_KINDS:
        return check_custom_resource(document)
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"{describe(document)}: {error.message}"]
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.path) or "(root)"
        return [f"{describe(document)}: {path}: {error.message}"]
    return []


def check_custom_resource(document: dict[str, Any]) -> list[str]:
    problems = []
    where = describe(document)
    metadata = document.get("metadata") or {}
    if not metadata.get("name"):
        problems.append(f"{where}: metadata.name is missing")
    spec = document.get("spec")
    if not isinstance(spec, dict):
        return problems + [f"{where}: spec is missing"]
    if document["kind"] == "PrometheusRule":
        problems += check_rule_groups(where, spec)
    else:
        endpoints = spec.get("endpoints")
        if not isinstance(endpoints, list) or not endpoints:
            problems.append(f"{where}: spec.endpoints must list at least one endpoint")
        elif any(not isinstance(e, dict) or not e.get("port") for e in endpoints):
            problems.append(f"{where}: every spec.endpoints[] needs a port")
        if not isinstance(spec.get("selector"), dict):
            problems.append(f"{where}: spec.selector is missing")
    return problems


def check_rule_groups(where: str, spec: dict[str, Any]) -> list[str]:
    groups = spec.get("groups")
    if not isinstance(groups, list) or not groups:
        return [f"{where}: spec.groups must list at least one group"]
    problems = []
    for g, group in enumerate(groups):
        if not isinstance(group, dict) or not group.get("name"):
            problems.append(f"{where}: spec.groups[{g}].name is missing")
            continue
        rules = group.get("rules")
        if not isinstance(rules, list) or not rules:
            problems.append(f"{where}: spec.groups[{g}] ({group['name']}) has no rules")
            continue
        for r, rule in enumerate(rules):
            at = f"{where}: spec.groups[{g}].rules[{r}]"
            if not isinstance(rule, dict):
                problems.append(f"{at} is not a mapping")
                continue
            if ("alert" in rule) == ("record" in rule):
                problems.append(f"{at} needs exactly one of alert / record")
            if not isinstance(rule.get("expr"), (str, int, float)) or str(rule.get("expr")).strip() == "":
                problems.append(f"{at} has no expr")
    return problems
