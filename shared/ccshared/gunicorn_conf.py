"""Gunicorn settings shared by every service (passed as python:ccshared.gunicorn_conf)."""

from __future__ import annotations

import os

accesslog = None
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn heartbeat on tmpfs


def child_exit(server, worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:  # noqa: ANN001 - gunicorn's hook signature
    """`serve` execs into gunicorn: the metrics directory the runner made is removed here."""
    from ccshared.runner import remove_own_metrics_dir

    remove_own_metrics_dir()
