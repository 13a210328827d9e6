"""The server's CA and HTTPS serving certificate.

kubectl sends the bearer token only over HTTPS, so the server always serves
TLS. Like k3s, the first start generates a CA and a serving certificate under
``<data-dir>/server/tls/`` (k3s's file names) and later starts reuse them, so
kubeconfigs handed out earlier keep working. The CA is never replaced. The
serving certificate is re-issued from the same CA when it no longer covers a
name the server is reached by (a new ``--bind-address`` or ``--node-name``) or
expires within 90 days (k3s's renewal window).

Keys are ECDSA P-256 (what k3s uses), written 0600 and atomically.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kcrypt.files import write_atomic
from kcrypt.server.errors import InvalidSettings

__all__ = ["TLSFiles", "ensure_tls"]

_CA_DAYS = 3650
_SERVING_DAYS = 365
_RENEW_BEFORE = dt.timedelta(days=90)
_WILDCARD_ADDRESSES = {"0.0.0.0", "::", ""}


@dataclass(frozen=True, slots=True)
class TLSFiles:
    ca_cert: Path
    cert: Path
    key: Path

    def ca_pem(self) -> bytes:
        return self.ca_cert.read_bytes()


def ensure_tls(tls_dir: Path, *, bind_address: str, node_name: str) -> TLSFiles:
    """Make sure a CA and a serving certificate for the given names exist."""
    files = TLSFiles(
        ca_cert=tls_dir / "server-ca.crt",
        cert=tls_dir / "serving-kube-apiserver.crt",
        key=tls_dir / "serving-kube-apiserver.key",
    )
    ca_key_path = tls_dir / "server-ca.key"
    if files.ca_cert.exists() and ca_key_path.exists():
        ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise InvalidSettings(f"{ca_key_path} is not an ECDSA private key")
    else:
        ca_cert, ca_key = _new_ca()
        _write_pair(ca_cert, ca_key, cert_path=files.ca_cert, key_path=ca_key_path)

    names = _subject_names(bind_address, node_name)
    if not _serving_cert_fits(files, ca_cert, names):
        cert, key = _new_serving(ca_cert, ca_key, names)
        _write_pair(cert, key, cert_path=files.cert, key_path=files.key)
    return files


def _subject_names(bind_address: str, node_name: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    candidates = ["127.0.0.1", "localhost", "kubernetes", "kubernetes.default", node_name]
    if bind_address not in _WILDCARD_ADDRESSES:
        candidates.append(bind_address)
    for value in dict.fromkeys(candidates):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(value)))
        except ValueError:
            names.append(x509.DNSName(value))
    return names


def _serving_cert_fits(
    files: TLSFiles, ca_cert: x509.Certificate, names: list[x509.GeneralName]
) -> bool:
    if not (files.cert.exists() and files.key.exists()):
        return False
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    if cert.issuer != ca_cert.subject:
        return False
    if cert.not_valid_after_utc - _now() < _RENEW_BEFORE:
        return False
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return all(name in sans for name in names)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_pair(
    cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, *, cert_path: Path, key_path: Path
) -> None:
    """The key first (0600), then the certificate (0644): a certificate on
    disk always has its key."""
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomic(key_path, key_pem)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def _new_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"kcrypt-server-ca@{int(now.timestamp())}")]
    )
    cert = (
        _builder(subject, subject, key, now=now, days=_CA_DAYS, ca=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _new_serving(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    names: list[x509.GeneralName],
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
    cert = (
        _builder(subject, ca_cert.subject, key, now=_now(), days=_SERVING_DAYS, ca=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    *,
    now: dt.datetime,
    days: int,
    ca: bool,
) -> x509.CertificateBuilder:
    """What the CA and the serving certificate share: names, key, a random
    serial, validity from 5 minutes ago (clock skew), and the critical basic
    constraints and key usage (a CA signs certificates; a server enciphers keys)."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=not ca,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
