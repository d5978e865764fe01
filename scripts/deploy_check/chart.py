"""Rendering and linting the Helm chart, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python
import yaml

RELEASE = "zhongtai"
NAMESPACE = "zhongtai"
KUBE_VERSION = "v1.30.0"


class RenderFailed(Exception):
    """The chart refused the values (schema) or a template failed."""


def load_values(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    return yaml.safe_load(path.read_text()) or {}


def render(chart_dir: Path, values: dict[str, Any]) -> dict[str, str]:
    """Template path → manifest text, NOTES.txt left out."""
    try:
        chart = helm_python.Chart.load(chart_dir)
        rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    except helm_python.HelmError as error:
        raise RenderFailed(str(error).strip()) from error
    return {path: text for path, text in rendered.items() if not path.endswith("NOTES.txt")}


def merged_values(chart_dir: Path, values: dict[str, Any]) -> dict[str, Any]:
    return helm_python.Chart.load(chart_dir).merge_values(values)


def lint(chart_dir: Path, values: dict[str, Any]) -> list[str]:
    """Problems `helm lint --strict` reports (warnings count as problems)."""
    try:
        report = helm_python.lint(chart_dir, values, strict=True, kube_version=KUBE_VERSION)
    except helm_python.HelmError as error:
        return [f"lint could not run: {error}"]
    problems = [
        f"{message['path']}: {message['error'].strip()}"
        for message in report.get("messages", [])
        if message.get("severity", 0) >= 2
    ]
    problems += [error.strip() for error in report.get("errors", []) if error.strip()]
    return sorted(set(problems))


def documents(manifests: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """Every non-empty YAML document, with the template it came from."""
    found = []
    for path, text in sorted(manifests.items()):
        for document in yaml.safe_load_all(text):
            if document:
                found.append((path, document))
    return found
