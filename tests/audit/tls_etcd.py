"""A real etcd member serving client TLS with client-certificate auth, like kubeadm's.

A test CA signs the server certificate (SAN 127.0.0.1) and a client
certificate; etcd runs with ``--client-cert-auth`` so a client without a
certificate the CA signed is refused. Stopped by its PID.
"""

from __future__ import annotations

import datetime
import ipaddress
import subprocess
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from etcd_cluster import ETCD, free_ports


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def make_pki(directory: Path) -> None:
    """ca.crt, server.{crt,key}, client.{crt,key} in ``directory``."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "etcd-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write(directory / "ca", ca, ca_key)
    for name, usage in (
        ("server", ExtendedKeyUsageOID.SERVER_AUTH),
        ("client", ExtendedKeyUsageOID.CLIENT_AUTH),
    ):
        key = _key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"etcd-{name}")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write(directory / name, cert, key)


class TLSEtcd:
    def __init__(self, base: Path) -> None:
        base.mkdir(parents=True, exist_ok=True)
        make_pki(base)
        self.base = base
        client, peer = free_ports(2)
        self.url = f"https://127.0.0.1:{client}"
        peer_url = f"http://127.0.0.1:{peer}"
        self._log = (base / "etcd.log").open("wb")
        self.process = subprocess.Popen(
            [
                ETCD,
                "--name",
                "tls",
                "--data-dir",
                str(base / "data"),
                "--listen-client-urls",
                self.url,
                "--advertise-client-urls",
                self.url,
                "--listen-peer-urls",
                peer_url,
                "--initial-advertise-peer-urls",
                peer_url,
                "--initial-cluster",
                f"tls={peer_url}",
                "--cert-file",
                str(base / "server.crt"),
                "--key-file",
                str(base / "server.key"),
                "--trusted-ca-file",
                str(base / "ca.crt"),
                "--client-cert-auth",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while self.etcdctl("endpoint", "health", check=False).returncode != 0:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError((base / "etcd.log").read_text()[-2000:])
            time.sleep(0.1)

    def tls_args(self) -> list[str]:
        b = self.base
        return [
            "--etcd-cafile",
            str(b / "ca.crt"),
            "--etcd-certfile",
            str(b / "client.crt"),
            "--etcd-keyfile",
            str(b / "client.key"),
        ]

    def etcdctl(
        self, *args: str, value: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        b = self.base
        return subprocess.run(
            [
                "etcdctl",
                f"--endpoints={self.url}",
                f"--cacert={b / 'ca.crt'}",
                f"--cert={b / 'client.crt'}",
                f"--key={b / 'client.key'}",
                *args,
            ],
            input=value,
            capture_output=True,
            check=check,
            timeout=30,
        )

    def put(self, key: str, value: bytes) -> None:
        self.etcdctl("put", key, value=value)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self._log.close()
