"""k8s/: the kustomize base (the chart's default render) and its overlays."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

HEADER = (
    "# Rendered from charts/zhongtai with default values (release zhongtai,\n"
    "# namespace zhongtai) by `bash scripts/check-deploy.sh --write-k8s-base`.\n"
    "# Do not edit: change the chart and re-render; `make test` fails on drift.\n"
)


class KustomizeFailed(Exception):
    pass


def base_files(manifests: dict[str, str]) -> dict[str, str]:
    """File name → content of k8s/base for a default render."""
    files: dict[str, str] = {}
    for path, text in sorted(manifests.items()):
        if not any(yaml.safe_load_all(text)):
            continue
        body = text.strip("\n")
        if body.startswith("---"):
            body = body[3:].lstrip("\n")
        files[Path(path).name] = HEADER + body + "\n"
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(files),
    }
    files["kustomization.yaml"] = HEADER + yaml.safe_dump(kustomization, sort_keys=False)
    return files


def write_base(base_dir: Path, files: dict[str, str]) -> None:
    base_dir.mkdir(parents=True, exist_ok=True)
    for stale in base_dir.glob("*.yaml"):
        if stale.name not in files:
            stale.unlink()
    for name, content in files.items():
        (base_dir / name).write_text(content)


def base_drift(base_dir: Path, files: dict[str, str]) -> list[str]:
    """How the committed base differs from a fresh render; empty when equal."""
    problems = []
    committed = {p.name for p in base_dir.glob("*.yaml")} if base_dir.is_dir() else set()
    for name in sorted(set(files) - committed):
        problems.append(f"{base_dir / name} is missing")
    for name in sorted(committed - set(files)):
        problems.append(f"{base_dir / name} is not in a fresh render")
    for name in sorted(committed & set(files)):
        if (base_dir / name).read_text() != files[name]:
            problems.append(f"{base_dir / name} differs from a fresh render")
    return problems


def build(kustomize: str, overlay: Path) -> str:
    try:
        result = subprocess.run(
            [kustomize, "build", str(overlay)], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise KustomizeFailed(f"{overlay}: {error}") from error
    if result.returncode != 0:
        raise KustomizeFailed(f"{overlay}: {result.stderr.strip()}")
    return result.stdout
