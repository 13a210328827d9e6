"""A real OpenSSH server on 127.0.0.1 for tests: its own host key, one authorized key.

Started with ``/usr/sbin/sshd -D -e -f <config>`` on a free port (root login
with the test's key only, StrictModes off because pytest's tmp dirs are under
/tmp). ``known_hosts`` pins the host key, so kcrypt's host-key check is on.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e.harness import free_port

SSHD = "/usr/sbin/sshd"


def require_sshd() -> None:
    if not Path(SSHD).exists() or shutil.which("ssh-keygen") is None:
        pytest.skip("needs OpenSSH (openssh-server; scripts/setup.sh installs it)")
    if os.geteuid() != 0:
        pytest.skip("sshd's privilege separation needs root")


@dataclass
class SSHServer:
    base: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def client_key(self) -> Path:
        return self.base / "client_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.base / "known_hosts"

    @property
    def log(self) -> Path:
        return self.base / "sshd.log"

    @classmethod
    def start(cls, base: Path) -> SSHServer:
        require_sshd()
        base.mkdir(parents=True, exist_ok=True)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        for name in ("host_ed25519", "client_ed25519"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / name)], check=True
            )
        (base / "authorized_keys").write_bytes((base / "client_ed25519.pub").read_bytes())
        (base / "authorized_keys").chmod(0o600)
        port = free_port()
        config = base / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    "ListenAddress 127.0.0.1",
                    f"Port {port}",
                    f"HostKey {base / 'host_ed25519'}",
                    f"PidFile {base / 'sshd.pid'}",
                    f"AuthorizedKeysFile {base / 'authorized_keys'}",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "UsePAM no",
                    "StrictModes no",
                    "Subsystem sftp internal-sftp",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )
        host_pub = (base / "host_ed25519.pub").read_text().split()
        (base / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
        log = (base / "sshd.log").open("ab")
        proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        server = cls(base, port, proc)
        deadline = time.monotonic() + 20
        while "Server listening" not in server.log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise AssertionError(f"sshd did not start: {server.log.read_text()}")
            time.sleep(0.05)
        return server

    def logins(self) -> int:
        """Accepted public-key logins so far (sshd's VERBOSE log)."""
        return self.log.read_text(errors="replace").count("Accepted publickey")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
