"""python -m deploy_check [--write-k8s-base]: lint, render and validate the
chart and k8s/, and prove the checks can fail. Exits 1 on any problem."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from . import chart, invariants, kustomize, selftest, validate

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "zhongtai"
BASE = REPO / "k8s" / "base"
OVERLAYS = [REPO / "k8s" / "overlays" / "dev", REPO / "k8s" / "overlays" / "prod"]
MONITORING_CHECK = REPO / "scripts" / "check_monitoring.py"


class Report:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.lines: list[str] = []

    def fail(self, step: str, problems: list[str]) -> None:
        self.problems += [f"{step}: {p}" for p in problems]

    def say(self, line: str) -> None:
        self.lines.append(line)


def check_render(report: Report, label: str, values_file: Path | None) -> None:
    values = chart.load_values(values_file)
    lint_problems = chart.lint(CHART, values)
    report.fail(f"lint {label}", lint_problems)
    try:
        manifests = chart.render(CHART, values)
    except chart.RenderFailed as error:
        report.fail(f"render {label}", [str(error)])
        return
    docs = [d for _, d in chart.documents(manifests)]
    for document in docs:
        report.fail(f"validate {label}", validate.validate(document))
    report.fail(f"invariants {label}", invariants.check_hardening(docs))
    report.fail(f"invariants {label}", invariants.check_probes(docs))
    report.fail(f"invariants {label}", invariants.check_per_service(docs, chart.merged_values(CHART, values)))
    if values_file is None:
        report.fail(f"invariants {label}", invariants.check_no_secret_data(docs))
    kinds = sorted({d["kind"] for d in docs})
    report.say(
        f"chart {label}: lint {'clean' if not lint_problems else 'FAILED'}, "
        f"{len(docs)} documents validated ({', '.join(kinds)})"
    )


def schema_complaint(message: str) -> str:
    """Helm's schema error without its preamble ("values don't meet…", "<chart>:")."""
    lines = [line.strip().lstrip("- ").strip() for line in message.splitlines()]
    kept = [line for line in lines if line and not line.startswith("values don't meet") and not line.endswith(":")]
    return "; ".join(kept) or message


def check_invalid_values(report: Report) -> None:
    for values_file in sorted((CHART / "ci" / "invalid").glob("*.yaml")):
        try:
            chart.render(CHART, chart.load_values(values_file))
        except chart.RenderFailed as error:
            reason = schema_complaint(str(error))
            report.say(f"rejected {values_file.name}: {reason}")
            continue
        report.fail("invalid values", [f"{values_file.name} rendered; values.schema.json must reject it"])


def check_kustomize(report: Report, kustomize_bin: str) -> None:
    try:
        files = kustomize.base_files(chart.render(CHART, {}))
    except chart.RenderFailed as error:
        report.fail("k8s/base", [f"cannot render the chart to compare: {error}"])
        drift = ["not compared"]
    else:
        drift = kustomize.base_drift(BASE, files)
        hint = ["re-render: bash scripts/check-deploy.sh --write-k8s-base"] if drift else []
        report.fail("k8s/base", drift + hint)
    report.say(f"k8s/base: {'identical to a fresh default render' if not drift else 'DRIFTED'}")
    for overlay in OVERLAYS:
        label = overlay.relative_to(REPO)
        try:
            output = kustomize.build(kustomize_bin, overlay)
        except kustomize.KustomizeFailed as error:
            report.fail("kustomize", [str(error)])
            continue
        docs = [d for d in yaml.safe_load_all(output) if d]
        for document in docs:
            report.fail(f"validate {label}", validate.validate(document))
        report.fail(f"invariants {label}", invariants.check_hardening(docs))
        report.fail(f"invariants {label}", invariants.check_probes(docs))
        report.say(f"kustomize build {label}: {len(docs)} documents validated")


def check_monitoring(report: Report) -> None:
    if not MONITORING_CHECK.exists():
        report.say("scripts/check_monitoring.py: not present, skipped")
        return
    result = subprocess.run([sys.executable, str(MONITORING_CHECK)], cwd=REPO)
    if result.returncode != 0:
        report.fail("monitoring", [f"scripts/check_monitoring.py exited {result.returncode}"])
    report.say(f"scripts/check_monitoring.py: {'passed' if result.returncode == 0 else 'FAILED'}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="deploy_check")
    parser.add_argument("--write-k8s-base", action="store_true", help="re-render k8s/base and exit")
    args = parser.parse_args()
    if args.write_k8s_base:
        try:
            manifests = chart.render(CHART, {})
        except chart.RenderFailed as error:
            print(f"deploy-check: cannot render the chart: {error}", file=sys.stderr)
            return 1
        kustomize.write_base(BASE, kustomize.base_files(manifests))
        print(f"deploy-check: wrote {BASE.relative_to(REPO)}")
        return 0

    started = time.monotonic()
    report = Report()
    check_render(report, "default values", None)
    for values_file in sorted((CHART / "ci").glob("*.yaml")):
        check_render(report, f"ci/{values_file.name}", values_file)
    check_invalid_values(report)
    check_kustomize(report, os.environ.get("KUSTOMIZE", "kustomize"))
    check_monitoring(report)
    self_problems = selftest.run(CHART)
    report.fail("self-test", self_problems)
    report.say(f"self-test: {'every check failed on its broken input' if not self_problems else 'FAILED'}")

    print("deploy-check summary:")
    for line in report.lines:
        print(f"  {line}")
    for problem in report.problems:
        print(f"FAIL {problem}", file=sys.stderr)
    outcome = "FAILED" if report.problems else "passed"
    print(f"deploy-check {outcome} in {time.monotonic() - started:.1f}s ({len(report.problems)} problems)")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
