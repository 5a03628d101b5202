"""The real `kustomize` for the Kubernetes manifest tests.

Built with `go install` from the Go module proxy at the pinned release, checked
against the Go checksum database, and cached per version like promtool and
FerretDB. v5.8.2 is the newest release whose go.mod this machine's Go (1.26)
builds without a toolchain switch; it carries kustomize/api v0.21.2.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .common import InfraError, cache_dir, file_lock, missing_commands, run_checked

KUSTOMIZE_VERSION = "v5.8.2"
PACKAGE = "sigs.k8s.io/kustomize/kustomize/v5"


def missing_tools() -> list[str]:
    return missing_commands({"go": "install Go 1.26 or newer, see https://go.dev/doc/install"})


def install_kustomize() -> Path:
    """Return the cached kustomize, building it with `go install` on first use."""
    home = cache_dir() / f"kustomize-{KUSTOMIZE_VERSION}"
    binary = home / "kustomize"
    if binary.exists():
        return binary
    with file_lock(home / ".lock"):
        if not binary.exists():
            _build(home)
    return binary


def build(kustomize: Path, directory: Path) -> str:
    """`kustomize build DIRECTORY`: the rendered manifests as one YAML stream."""
    result = subprocess.run(
        [str(kustomize), "build", str(directory)], capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise InfraError(f"kustomize build {directory} failed (exit {result.returncode}):\n{result.stderr}")
    return result.stdout


def _build(home: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise InfraError("go not found on PATH")
    staging = home / "partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    run_checked(
        [go, "install", f"{PACKAGE}@{KUSTOMIZE_VERSION}"],
        cwd=home,
        what=f"building kustomize {KUSTOMIZE_VERSION}",
        env={**os.environ, "GOBIN": str(staging), "GOFLAGS": "-trimpath -buildvcs=false"},
    )
    (staging / "kustomize").rename(home / "kustomize")
    shutil.rmtree(staging)
