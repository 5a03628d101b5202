"""Gunicorn settings shared by every service (passed as python:ccshared.gunicorn_conf)."""

from __future__ import annotations

import os

from gunicorn.glogging import Logger

from ccshared.logs import JsonFormatter


class JsonLogger(Logger):
    """gunicorn's own lines (starting, a worker booting, timing out or failing to boot) as one
    JSON object a line, like the service's, so a filter on "level" sees them; `--name` is the
    service they name."""

    def setup(self, cfg) -> None:  # noqa: ANN001 - gunicorn's hook signature
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter(cfg.proc_name))


logger_class = JsonLogger
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
