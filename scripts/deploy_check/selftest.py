"""Proof that the checks can fail: each must reject a deliberately broken input."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import chart, kustomize, validate


def run(chart_dir: Path) -> list[str]:
    """Problems with the checks themselves; empty when each saw its failure."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="zhongtai-chart-") as scratch:
        broken = Path(scratch) / "zhongtai"
        shutil.copytree(chart_dir, broken)
        (broken / "templates" / "broken.yaml").write_text("name: {{ .Values.image.repository\n")
        try:
            chart.render(broken, {})
            problems.append("render accepted a template with an unclosed {{")
        except chart.RenderFailed:
            pass
        if not chart.lint(broken, {}):
            problems.append("lint accepted a template with an unclosed {{")

    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "typo"},
        "spec": {
            "replicass": 2,
            "selector": {"matchLabels": {"app": "typo"}},
            "template": {
                "metadata": {"labels": {"app": "typo"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
    }
    if not validate.validate(deployment):
        problems.append("validation accepted spec.replicass")
    unknown_kind = {"apiVersion": "example.gov/v1", "kind": "Widget", "metadata": {"name": "w"}}
    if not validate.validate(unknown_kind):
        problems.append("validation accepted a kind it has no schema for")
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "r"},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A"}]}]},
    }
    if not validate.validate(rule):
        problems.append("the PrometheusRule check accepted a rule without expr")

    # Any two distinct bases do; the real render is not needed here.
    files = kustomize.base_files({"zhongtai/templates/a.yaml": "kind: ConfigMap\n"})
    edited = dict(files)
    edited["a.yaml"] = files["a.yaml"] + "# hand edit\n"
    with tempfile.TemporaryDirectory(prefix="zhongtai-base-") as scratch:
        kustomize.write_base(Path(scratch), edited)
        if not kustomize.base_drift(Path(scratch), files):
            problems.append("the drift check accepted a hand-edited base")
    return problems
