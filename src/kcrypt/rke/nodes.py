"""Where config files go: a node on this host (written directly) or over SSH.

Both write the way RKE's file deployer does -- a temporary file next to the
target, then a rename -- but with the file 0600 from its first byte and
fsynced before the rename:

* locally through :func:`kcrypt.files.write_atomic`, the project's one
  writer of key material;
* over SFTP (asyncssh): the temporary file is *created* with mode 0600,
  fsynced (``fsync@openssh.com``), then moved with ``posix-rename@openssh.com``
  -- OpenSSH's plain SFTP ``RENAME`` refuses to replace an existing file.

SSH host keys are checked against ``known_hosts`` (RKE does not check them).
A restart command, when a node has one, runs in the node's shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

import asyncssh

from kcrypt.files import write_atomic
from kcrypt.rke.clusterfile import NodeSpec
from kcrypt.rke.errors import NodeError

__all__ = ["CommandResult", "LocalNode", "NodeTarget", "SSHNode", "open_target"]


@dataclass(frozen=True, slots=True)
class CommandResult:
    exit_status: int
    output: str = field(repr=False)


class NodeTarget(Protocol):
    name: str

    async def read(self, path: str) -> bytes | None: ...

    async def write(self, path: str, data: bytes) -> None: ...

    async def run(self, command: str) -> CommandResult: ...

    async def close(self) -> None: ...


class LocalNode:
    """A controlplane node that is this host (``kcrypt: {local: true}``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def read(self, path: str) -> bytes | None:
        try:
            return Path(path).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise NodeError(f"[{self.name}] can not read {path}: {exc.strerror}") from None

    async def write(self, path: str, data: bytes) -> None:
        try:
            write_atomic(Path(path), data)
        except OSError as exc:
            raise NodeError(f"[{self.name}] can not write {path}: {exc.strerror}") from None

    async def run(self, command: str) -> CommandResult:
        proc = await asyncio.create_subprocess_shell(
            command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await proc.communicate()
        return CommandResult(proc.returncode or 0, out.decode(errors="replace"))

    async def close(self) -> None:
        return None


class SSHNode:
    """A node reached over SSH; the connection opens on first use."""

    def __init__(self, spec: NodeSpec) -> None:
        self.name = spec.name
        self._spec = spec
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None

    async def _connect(self) -> asyncssh.SSHClientConnection:
        if self._conn is not None:
            return self._conn
        spec = self._spec
        keys: list[asyncssh.SSHKey] | list[str] | tuple[()] = ()  # (): agent + default files
        if spec.ssh_key:
            keys = [asyncssh.import_private_key(spec.ssh_key)]
        elif spec.ssh_key_path is not None:
            keys = [str(spec.ssh_key_path)]
        elif not spec.ssh_agent_auth:
            keys = [os.path.expanduser("~/.ssh/id_rsa")]  # RKE's default key
        known = str(spec.known_hosts) if spec.known_hosts is not None else None
        try:
            self._conn = await asyncssh.connect(
                spec.address,
                port=spec.port,
                username=spec.user,
                client_keys=keys,
                agent_path=() if spec.ssh_agent_auth else None,
                known_hosts=known,
                connect_timeout=30,
            )
        except (OSError, asyncssh.Error) as exc:
            raise NodeError(
                f"[{self.name}] can not open SSH to {spec.user}@{spec.address}:{spec.port}: "
                f"{_why(exc)}"
            ) from None
        return self._conn

    async def _client(self) -> asyncssh.SFTPClient:
        if self._sftp is None:
            conn = await self._connect()
            try:
                self._sftp = await conn.start_sftp_client()
            except (OSError, asyncssh.Error) as exc:
                raise NodeError(f"[{self.name}] SFTP is not available: {_why(exc)}") from None
        return self._sftp

    async def read(self, path: str) -> bytes | None:
        sftp = await self._client()
        try:
            async with sftp.open(path, "rb") as f:
                data = await f.read()
        except asyncssh.SFTPNoSuchFile:
            return None
        except (OSError, asyncssh.Error) as exc:
            raise NodeError(f"[{self.name}] can not read {path}: {_why(exc)}") from None
        return data if isinstance(data, bytes) else data.encode()

    async def write(self, path: str, data: bytes) -> None:
        sftp = await self._client()
        target = PurePosixPath(path)
        tmp = str(target.parent / f".{target.name}.tmp-kcrypt-{secrets.token_hex(4)}")
        attrs = asyncssh.SFTPAttrs(permissions=0o600)
        try:
            await sftp.makedirs(
                str(target.parent), attrs=asyncssh.SFTPAttrs(permissions=0o700), exist_ok=True
            )
            async with sftp.open(tmp, "wb", attrs) as f:
                await f.write(data)
                await f.fsync()
            await sftp.chmod(tmp, 0o600)  # the server's umask may have narrowed it further only
            await sftp.posix_rename(tmp, path)
        except (OSError, asyncssh.Error) as exc:
            with contextlib.suppress(OSError, asyncssh.Error):
                await sftp.remove(tmp)
            raise NodeError(f"[{self.name}] can not write {path}: {_why(exc)}") from None

    async def run(self, command: str) -> CommandResult:
        conn = await self._connect()
        try:
            result = await conn.run(command, check=False)
        except (OSError, asyncssh.Error) as exc:
            raise NodeError(f"[{self.name}] can not run the restart command: {_why(exc)}") from None
        out = "".join(
            part.decode(errors="replace") if isinstance(part, bytes) else str(part)
            for part in (result.stdout or "", result.stderr or "")
        )
        return CommandResult(result.exit_status or 0, out)

    async def close(self) -> None:
        if self._sftp is not None:
            self._sftp.exit()
            self._sftp = None
        if self._conn is not None:
            self._conn.close()
            await self._conn.wait_closed()
            self._conn = None


def open_target(spec: NodeSpec) -> NodeTarget:
    return LocalNode(spec.name) if spec.local else SSHNode(spec)


def _why(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
    return str(reason) or type(exc).__name__
