"""A real single-node Apache Kafka broker (KRaft, broker+controller in one JVM) for tests.

Jars come from Maven Central via tools/kafka/pom.xml and are cached; see ``install_kafka``.
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

from .common import (
    TOOLS_DIR,
    Engine,
    InfraError,
    cache_dir,
    content_hash,
    file_lock,
    free_port,
    missing_commands,
    port_open,
    run_checked,
)

KAFKA_VERSION = "3.9.1"
POM = TOOLS_DIR / "kafka" / "pom.xml"
JVM_OPTS = (
    "-Xms256m",
    "-Xmx512m",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    "-Djava.net.preferIPv4Stack=true",
)
LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
"""


def missing_tools() -> list[str]:
    return missing_commands(
        {
            "java": "install Java 17, e.g. `apt-get install openjdk-17-jre-headless`",
            "mvn": "install Maven, e.g. `apt-get install maven`",
        }
    )


def install_kafka() -> Path:
    """Return the directory of Kafka jars, fetching them with Maven if absent or if pom.xml changed."""
    home = cache_dir() / f"kafka-{KAFKA_VERSION}"
    libs, stamp = home / "libs", home / "pom.sha256"
    wanted = content_hash(POM)

    def installed() -> bool:
        return libs.is_dir() and stamp.exists() and stamp.read_text().strip() == wanted

    if installed():
        return libs
    with file_lock(home / ".lock"):
        if not installed():
            _fetch_jars(home, libs, stamp, wanted)
    return libs


def _fetch_jars(home: Path, libs: Path, stamp: Path, pom_hash: str) -> None:
    staging = home / "libs.partial"
    shutil.rmtree(staging, ignore_errors=True)
    run_checked(
        [
            "mvn",
            "-q",
            "-B",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        cwd=POM.parent,
        what="fetching Kafka jars with Maven",
    )
    stamp.unlink(missing_ok=True)
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    stamp.write_text(pom_hash + "\n")


def new_cluster_id() -> str:
    """A Kafka Uuid string; ones starting with '-' are skipped as the CLI would read them as flags."""
    while True:
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaBroker(Engine):
    """Kafka 3.9 in KRaft mode on 127.0.0.1; ``start()`` returns once a client sees a live broker."""

    name = "kafka"
    start_timeout = 90.0
    stop_timeout = 30.0

    def __init__(self, workdir: Path, port: int | None = None, controller_port: int | None = None):
        super().__init__(workdir)
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        self.data_dir = self.workdir / "data"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _prepare(self) -> list[str]:
        libs = install_kafka()
        java = shutil.which("java")
        if java is None:
            raise InfraError("java not found on PATH")
        props, log4j = self._write_config()
        base = [java, *JVM_OPTS, f"-Dlog4j.configuration={log4j.as_uri()}", "-cp", f"{libs}/*"]
        if not (self.data_dir / "meta.properties").exists():
            run_checked(
                [*base, "kafka.tools.StorageTool", "format", "-t", new_cluster_id(), "-c", str(props)],
                cwd=self.workdir,
                what="formatting Kafka storage",
            )
        return [*base, "kafka.Kafka", str(props)]

    def _write_config(self) -> tuple[Path, Path]:
        props = self.workdir / "server.properties"
        props.write_text("".join(f"{k}={v}\n" for k, v in self._server_properties().items()))
        log4j = self.workdir / "log4j.properties"
        log4j.write_text(LOG4J)
        return props, log4j

    def _server_properties(self) -> dict[str, str | int]:
        """Single-node settings tuned for tests.

        Internal topics get one partition so the first consumer group is quick, and the broker
        session is short because after ``kill()`` the restarted broker cannot register until the
        controller expires the dead incarnation's session (9s by default).
        """
        return {
            "process.roles": "broker,controller",
            "node.id": 1,
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": 3,
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": 1,
            "offsets.topic.num.partitions": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "transaction.state.log.num.partitions": 1,
            "group.initial.rebalance.delay.ms": 0,
            "broker.heartbeat.interval.ms": 1000,
            "broker.session.timeout.ms": 4000,
        }

    def _ready(self) -> bool:
        if not port_open(self.port):
            return False
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap, client_id="infra-probe", request_timeout_ms=5000
            )
        except KafkaError:
            return False
        try:
            return bool(admin.describe_cluster().get("brokers"))
        except KafkaError:
            return False
        finally:
            admin.close()
