"""The real `promtool` (Prometheus's rule and config checker) for the ops tests.

Built with `go install` from the Go module proxy at the pinned module version
(Prometheus v3.x is published as Go module v0.3xx.y: v0.316.0 is Prometheus
3.16.0, the release docker-compose.yml runs), checked against the Go checksum
database, and cached per version like FerretDB and Kafka.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .common import InfraError, cache_dir, file_lock, missing_commands, run_checked

PROMETHEUS_MODULE_VERSION = "v0.316.0"
PROMETHEUS_RELEASE = "v3.16.0"  # the prom/prometheus image tag built from the same source
PACKAGE = "github.com/prometheus/prometheus/cmd/promtool"
# Only the service discovery our prometheus.yml uses (DNS): Prometheus's own build
# tags leave out the cloud ones, which cuts the first build from about 20 minutes
# to a few on two cores.
BUILD_TAGS = "remove_all_sd,enable_dns_sd"


def missing_tools() -> list[str]:
    return missing_commands({"go": "install Go 1.24 or newer, see https://go.dev/doc/install"})


def install_promtool() -> Path:
    """Return the cached promtool, building it with `go install` on first use."""
    home = cache_dir() / f"promtool-{PROMETHEUS_MODULE_VERSION}-dns-sd"
    binary = home / "promtool"
    if binary.exists():
        return binary
    with file_lock(home / ".lock"):
        if not binary.exists():
            _build(home)
    return binary


def _build(home: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise InfraError("go not found on PATH")
    staging = home / "partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    run_checked(
        [go, "install", "-tags", BUILD_TAGS, f"{PACKAGE}@{PROMETHEUS_MODULE_VERSION}"],
        cwd=home,
        what=f"building promtool {PROMETHEUS_MODULE_VERSION}",
        env={**os.environ, "GOBIN": str(staging), "GOFLAGS": "-trimpath -buildvcs=false"},
    )
    (staging / "promtool").rename(home / "promtool")
    shutil.rmtree(staging)
