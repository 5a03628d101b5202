"""SMTP with STARTTLS or implicit TLS and a login, against aiosmtpd with a test certificate."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from ccshared import contracts as c
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from notifier import domain
from notifier.config import SmtpSettings
from notifier.smtp_transport import SmtpTransport
from notifier_testkit import SwitchableHandler, sla_event, wire

from tests.infra.common import free_port

LOGIN = (b"test.sender", b"test-password-not-real")


def make_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == LOGIN
    return AuthResult(success=ok, handled=False)


@pytest.fixture(params=["starttls", "tls"])
def secure_server(request, tmp_path) -> Iterator[tuple[str, int, SwitchableHandler, Path]]:
    cert, key = make_certificate(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    security = request.param
    tls = {"tls_context": server_context, "require_starttls": True} if security == "starttls" else {}
    handler = SwitchableHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        ssl_context=server_context if security == "tls" else None,
        authenticator=authenticate,
        auth_require_tls=security == "starttls",  # implicit TLS: aiosmtpd cannot tell, but it is
        **tls,
    )
    controller.start()
    yield security, port, handler, cert
    controller.stop()


def transport(security: str, port: int, cert: Path, password: str) -> SmtpTransport:
    settings = SmtpSettings(
        host="127.0.0.1",
        port=port,
        security=security,
        username=LOGIN[0].decode(),
        password=password,
        timeout=5.0,
    )
    return SmtpTransport(settings, ssl.create_default_context(cafile=str(cert)))


def test_mail_goes_over_tls_after_logging_in(tmp_path, secure_server):
    security, port, handler, cert = secure_server
    notifier = wire(tmp_path, transport=transport(security, port, cert, LOGIN[1].decode()))
    notifier.receive(sla_event(c.SLA_AT_RISK))

    notifier.deliver()

    [n] = notifier.notifications.search()
    assert n.status == domain.SENT, n.last_error
    assert [r.rcpt_tos for r in handler.received] == [["coordinator.north@example.org"]]


def test_a_rejected_login_is_a_permanent_failure(tmp_path, secure_server):
    security, port, handler, cert = secure_server
    notifier = wire(tmp_path, transport=transport(security, port, cert, "wrong-password"))
    notifier.receive(sla_event(c.SLA_AT_RISK))

    notifier.deliver()

    [n] = notifier.notifications.search()
    assert n.status == domain.FAILED, n.last_error
    assert "535" in n.last_error
    assert handler.received == []
