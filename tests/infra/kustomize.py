"""The real `kustomize` for the Kubernetes manifest tests.

Built with `go install` from the Go module proxy at the pinned release, checked
against the Go checksum database, and cached per version like promtool and
FerretDB. v5.8.2 is the newest release whose go.mod this machine's Go (1.26)
builds without a toolchain switch; it carries kustomize/api v0.21.2.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .common import InfraError, go_install, missing_commands

KUSTOMIZE_VERSION = "v5.8.2"
PACKAGE = "sigs.k8s.io/kustomize/kustomize/v5"


def missing_tools() -> list[str]:
    return missing_commands({"go": "install Go 1.26 or newer, see https://go.dev/doc/install"})


def install_kustomize() -> Path:
    """Return the cached kustomize, building it with `go install` on first use."""
    return go_install(PACKAGE, KUSTOMIZE_VERSION, "kustomize", f"kustomize-{KUSTOMIZE_VERSION}")


def build(kustomize: Path, directory: Path) -> str:
    """`kustomize build DIRECTORY`: the rendered manifests as one YAML stream."""
    result = subprocess.run(
        [str(kustomize), "build", str(directory)], capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise InfraError(f"kustomize build {directory} failed (exit {result.returncode}):\n{result.stderr}")
    return result.stdout
