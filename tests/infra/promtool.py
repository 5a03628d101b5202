"""The real `promtool` (Prometheus's rule and config checker) for the ops tests.

Built with `go install` from the Go module proxy at the pinned module version
(Prometheus v3.x is published as Go module v0.3xx.y: v0.316.0 is Prometheus
3.16.0, the release docker-compose.yml runs), checked against the Go checksum
database, and cached per version like FerretDB and Kafka.
"""

from __future__ import annotations

from pathlib import Path

from .common import go_install, missing_commands

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
    cache_name = f"promtool-{PROMETHEUS_MODULE_VERSION}-dns-sd"
    return go_install(PACKAGE, PROMETHEUS_MODULE_VERSION, "promtool", cache_name, tags=BUILD_TAGS)
