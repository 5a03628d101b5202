"""Test harness that runs real Kafka and FerretDB processes on loopback ports.

See tests/conftest.py for the pytest fixtures built on it.
"""

from .common import Engine, InfraError, cache_dir, free_port
from .ferretdb import FerretDB, install_ferretdb
from .kafka import KafkaBroker, install_kafka

__all__ = [
    "Engine",
    "FerretDB",
    "InfraError",
    "KafkaBroker",
    "cache_dir",
    "free_port",
    "install_ferretdb",
    "install_kafka",
]
