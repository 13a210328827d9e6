"""Helpers for the ``kcrypt secrets-encrypt`` end-to-end tests.

The CLI runs as a real subprocess against a real ``kcrypt server``; raw
stored values are read with the ``sqlite3`` / ``etcdctl`` command-line tools,
one call for every secret at once. Secrets are created with kubectl (small
sets) or written straight into a stopped server's datastore (large sets),
encrypted with the server's own config file, as kube-apiserver would have.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kcrypt.codec import encode_storage, storage_key
from kcrypt.datastore.contract import PutIf
from kcrypt.datastore.endpoint import open_datastore
from kcrypt.encryption import transformer_for

from .harness import KcryptServer, Kubectl, kcrypt_command

PREFIX = "/registry/secrets/"
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)"
KEY_NAME = re.compile(rf"((?:aescbc|aesgcm|secretbox)key)-{TIME}")


@dataclass
class Cli:
    """``kcrypt secrets-encrypt`` against one server, as an operator runs it."""

    server: KcryptServer

    def run(
        self, *args: str, check: bool = True, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        command, *rest = args
        argv = [
            *kcrypt_command(),
            "secrets-encrypt",
            command,
            "--data-dir",
            str(self.server.data_dir),
            "--server",
            self.server.url,
            *rest,
        ]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"secrets-encrypt {' '.join(args)} failed ({proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}\n--- server log ---\n{self.server.log()[-3000:]}"
            )
        return proc

    def ok(self, *args: str) -> str:
        return self.run(*args).stdout

    def fail(self, *args: str) -> str:
        """Run a command that must fail; its stderr."""
        proc = self.run(*args, check=False)
        assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
        return proc.stderr

    def status(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.ok("status", "-o", "json"))
        return doc

    def text(self) -> str:
        return self.ok("status")

    def wait_stage(self, stage: str, *, timeout: float = 120) -> dict[str, Any]:
        """Poll ``status -o json`` until the stage is ``stage`` and no pass runs."""
        deadline = time.monotonic() + timeout
        while True:
            doc = self.status()
            running = (doc.get("reencrypt") or {}).get("running", False)
            if doc.get("stage") == stage and not running:
                return doc
            if time.monotonic() > deadline:
                raise AssertionError(f"stage {stage} not reached: {doc}")
            time.sleep(0.1)


# ---- secrets and what the store holds ------------------------------------------------


def secret_set(n: int, *, tag: str) -> dict[tuple[str, str], dict[str, bytes]]:
    """``n`` secrets over two namespaces with text, binary and empty values."""
    out: dict[tuple[str, str], dict[str, bytes]] = {}
    for i in range(n):
        ns = "default" if i % 2 else "kube-system"
        out[(ns, f"{tag}-{i:03d}")] = {
            "password": f"{tag}-value-{i}-ünïcode".encode(),
            "blob": bytes(range(i % 7, 256, 3)),
            "empty": b"",
        }
    return out


def create_with_kubectl(kubectl: Kubectl, secrets: dict[tuple[str, str], dict[str, bytes]]) -> None:
    items = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": ns},
            "type": "Opaque",
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
        }
        for (ns, name), data in secrets.items()
    ]
    kubectl.run(
        "create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    )


def check_readback(kubectl: Kubectl, secrets: dict[tuple[str, str], dict[str, bytes]]) -> None:
    """Every secret reads back through kubectl with exactly its data."""
    got = {
        (s["metadata"]["namespace"], s["metadata"]["name"]): {
            k: base64.b64decode(v) for k, v in (s.get("data") or {}).items()
        }
        for s in kubectl.json("get", "secrets", "-A")["items"]
    }
    for key, data in secrets.items():
        assert got.get(key) == data, f"secret {key} reads back differently"


def sqlite_secrets(db: Path, prefix: str = PREFIX) -> dict[str, bytes]:
    """Every live value under ``prefix`` (secrets by default) in kine's table, one sqlite3 call."""
    query = (
        f"SELECT name, hex(value) FROM kine AS k WHERE name LIKE '{prefix}%' "
        "AND id = (SELECT MAX(id) FROM kine WHERE name = k.name) AND deleted = 0;"
    )
    out = subprocess.run(
        ["sqlite3", "-readonly", "-separator", "|", str(db), query],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout.decode()
    rows = (line.split("|", 1) for line in out.splitlines() if line)
    return {name: bytes.fromhex(value) for name, value in rows}


def etcd_secrets(endpoints: str, prefix: str = PREFIX) -> dict[str, bytes]:
    """Every value under ``prefix`` (secrets by default) as etcdctl shows it."""
    out = subprocess.run(
        ["etcdctl", f"--endpoints={endpoints}", "get", prefix, "--prefix", "-w", "json"],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    kvs = json.loads(out).get("kvs") or []
    return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv["value"]) for kv in kvs}


def key_of(value: bytes, names: list[str]) -> str:
    """The key a raw value is under: ``identity`` for plaintext, else its full key name."""
    if value.startswith(b"k8s\x00"):
        return "identity"
    for name in sorted(names, key=len, reverse=True):
        kind = name.split("key", 1)[0]
        if value.startswith(f"k8s:enc:{kind}:v1:{name}:".encode()):
            return name
    return "unknown:" + value[:40].decode("latin-1")


def keys_in_status(doc: dict[str, Any]) -> tuple[str, list[str]]:
    """(active key name or "", every key name) from a status JSON document."""
    active = doc.get("activekey", "").partition(" ")[2]
    inactive = [k.partition(" ")[2] for k in doc.get("inactivekeys") or []]
    return active, [n for n in [active, *inactive] if n]


def assert_all_under(
    raw: dict[str, bytes], expected: str, names: list[str], *, at_least: int
) -> None:
    """Every raw secret is under ``expected`` (a key name or ``identity``)."""
    assert len(raw) >= at_least, f"{len(raw)} secrets stored, expected >= {at_least}"
    wrong = {k: key_of(v, names) for k, v in raw.items() if key_of(v, names) != expected}
    assert not wrong, f"{len(wrong)} values not under {expected}: {dict(list(wrong.items())[:5])}"


def config_on_disk(server: KcryptServer) -> bytes:
    return (server.data_dir / "server" / "cred" / "encryption-config.json").read_bytes()


class Setup:
    """A server on its own data dir, restartable in place, with kubectl and the CLI."""

    def __init__(
        self,
        base: Path,
        args: list[str],
        *,
        raw: Callable[[Setup], dict[str, bytes]] | None = None,
    ) -> None:
        base.mkdir(parents=True, exist_ok=True)
        self.args = args
        self._raw = raw or (lambda s: sqlite_secrets(s.db))
        self.server = KcryptServer(base / "data", args=args).start()
        self.kubectl = Kubectl(self.server.kubeconfig, base / "kubectl-cache")
        self.cli = Cli(self.server)
        self.secrets: dict[tuple[str, str], dict[str, bytes]] = {}

    @property
    def db(self) -> Path:
        return self.server.data_dir / "server" / "db" / "state.db"

    def raw(self) -> dict[str, bytes]:
        """Every stored secret value, read with the store's own CLI."""
        return self._raw(self)

    def restart(self, args: list[str] | None = None) -> None:
        assert self.server.stop() == 0
        if args is not None:
            self.args = args
        self.server = KcryptServer(self.server.data_dir, args=self.args, port=self.server.port)
        self.server.start()
        self.cli = Cli(self.server)

    def add(self, n: int, tag: str) -> None:
        new = secret_set(n, tag=tag)
        create_with_kubectl(self.kubectl, new)
        self.secrets.update(new)

    def check(self, expected_key: str) -> dict[str, bytes]:
        """Raw store: every secret under ``expected_key``; kubectl: every secret unchanged."""
        doc = self.cli.status()
        _, names = keys_in_status(doc)
        raw = self.raw()
        assert_all_under(raw, expected_key, names, at_least=len(self.secrets))
        if expected_key != "identity":
            assert not [k for k, v in raw.items() if b"value-" in v], "plaintext in the store"
        check_readback(self.kubectl, self.secrets)
        return raw

    def stop(self) -> None:
        self.server.stop()


# ---- the seed's status examples --------------------------------------------------------


#: The ``k3s secrets-encrypt status`` outputs the k3s documentation shows (its
#: "Secrets Encryption" page), copied here so that no test reads the document:
#: two short ones after ``reencrypt``, the single-server ``start`` example and
#: the two-server ``rotate`` example (node-1 rotated, node-2 not yet restarted).
SEED_STATUS_EXAMPLES: list[list[str]] = [
    ["Encryption Status: Enabled", "Current Rotation Stage: reencrypt_finished"],
    ["Encryption Status: Enabled", "Current Rotation Stage: reencrypt_finished"],
    [
        "Encryption Status: Enabled",
        "Current Rotation Stage: start",
        "Server Encryption Hashes: All hashes match",
        "",
        "Active  Key Type  Name",
        "------  --------  ----",
        " *      AES-CBC   aescbckey",
    ],
    [
        "Encryption Status: Enabled",
        "Current Rotation Stage: rotate",
        "Server Encryption Hashes: hash does not match between node-1 and node-2",
        "",
        "Active  Key Type  Name",
        "------  --------  ----",
        " *      AES-CBC   aescbckey-2021-12-10T22:54:38Z",
        "        AES-CBC   aescbckey",
    ],
]


def seed_status_examples() -> list[list[str]]:
    """The documentation's status examples (a fresh copy per call)."""
    return [list(lines) for lines in SEED_STATUS_EXAMPLES]


def normalise_key_times(text: str) -> str:
    """``aescbckey-2021-12-10T22:54:38Z`` -> ``aescbckey-<time>`` (names carry the time)."""
    return KEY_NAME.sub(r"\1-<time>", text)


# ---- writing many secrets fast, straight into a stopped server's store -----------------


async def seed_store(url: str, config: bytes, n: int, *, batch: int = 1000) -> dict[str, bytes]:
    """``n`` secrets (~1 KiB) written as kube-apiserver stores them, encrypted with
    ``config``; returns the storage key -> the object's plaintext storage bytes."""
    tf = transformer_for(config)
    ds = await open_datastore(url)
    expected: dict[str, bytes] = {}
    try:
        puts: list[PutIf] = []
        for i in range(n):
            ns = "default" if i % 2 else "kube-system"
            name = f"s-{i:06d}"
            obj = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "uid": str(uuid.uuid4()),
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                },
                "type": "Opaque",
                "data": {"value": base64.b64encode(f"v{i}-".encode() * 100).decode()},
            }
            key = storage_key("secrets", ns, name)
            plain = encode_storage(obj)
            expected[key] = plain
            puts.append(PutIf(key, tf.to_storage(plain, context=key.encode()), 0))
            if len(puts) >= batch:
                await ds.txn_put(puts)
                puts = []
        if puts:
            await ds.txn_put(puts)
    finally:
        await ds.close()
    return expected
