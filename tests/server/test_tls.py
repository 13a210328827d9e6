"""CA and serving certificate: generated once, reused, re-issued for new names."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

from cryptography import x509

from kcrypt.server.tls import ensure_tls


def sans(path: Path) -> x509.SubjectAlternativeName:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def test_first_start_creates_a_ca_and_a_serving_cert_for_the_servers_names(
    tmp_path: Path,
) -> None:
    files = ensure_tls(tmp_path, bind_address="10.1.2.3", node_name="node-a")
    names = sans(files.cert)
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("10.1.2.3"),
    }
    assert {"localhost", "node-a"} <= set(names.get_values_for_type(x509.DNSName))
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "server-ca.key").stat().st_mode) == 0o600
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    cert.verify_directly_issued_by(ca)


def test_a_restart_with_the_same_names_reuses_everything(tmp_path: Path) -> None:
    first = ensure_tls(tmp_path, bind_address="127.0.0.1", node_name="n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    second = ensure_tls(tmp_path, bind_address="127.0.0.1", node_name="n")
    assert first == second
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_new_bind_address_reissues_the_serving_cert_from_the_same_ca(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path, bind_address="0.0.0.0", node_name="n")
    ca_before = files.ca_cert.read_bytes()
    cert_before = files.cert.read_bytes()
    ensure_tls(tmp_path, bind_address="192.168.7.7", node_name="n")
    assert files.ca_cert.read_bytes() == ca_before
    assert files.cert.read_bytes() != cert_before
    assert ipaddress.ip_address("192.168.7.7") in sans(files.cert).get_values_for_type(
        x509.IPAddress
    )
