"""``kcrypt kms-plugin``: the pkcs11 backend on a real SoftHSM2 token, the keyfile backend.

Each test initialises its own token under its temp dir and talks to the
plugin process over its unix socket with the generated gRPC stubs, as
kube-apiserver would.
"""

from __future__ import annotations

import base64
import os
import stat
import time
from pathlib import Path
from typing import Any

import grpc
import pkcs11
import pytest
from pkcs11 import Attribute, ObjectClass

from kcrypt.kms.proto import kmsv1beta1_service_pb2 as pb1
from kcrypt.kms.proto import kmsv1beta1_service_pb2_grpc as grpc1
from kcrypt.kms.proto import kmsv2_service_pb2 as pb2
from kcrypt.kms.proto import kmsv2_service_pb2_grpc as grpc2

from .support import PIN, SOFTHSM_MODULE, PluginProcess, SoftHSMToken, wait_for_status

SEED = bytes(range(32))


def _stubs(socket: Path) -> tuple[grpc.Channel, Any, Any]:
    channel = grpc.insecure_channel(f"unix:{socket}")
    v2 = grpc2.KeyManagementServiceStub(channel)  # type: ignore[no-untyped-call]
    v1 = grpc1.KeyManagementServiceStub(channel)  # type: ignore[no-untyped-call]
    return channel, v2, v1


def test_pkcs11_keys_never_leave_the_token(tmp_path: Path) -> None:
    token = SoftHSMToken(tmp_path / "hsm")
    with PluginProcess(tmp_path / "kms.sock", token.backend_args(), token.env()) as plugin:
        channel, v2, _ = _stubs(plugin.socket)
        with channel:
            status = v2.Status(pb2.StatusRequest(), timeout=5)
            assert (status.version, status.healthz, status.key_id) == ("v2", "ok", "kcrypt-kek-1")
            enc = v2.Encrypt(pb2.EncryptRequest(plaintext=SEED, uid="u1"), timeout=5)
            assert enc.key_id == "kcrypt-kek-1" and SEED not in enc.ciphertext
            dec = v2.Decrypt(
                pb2.DecryptRequest(ciphertext=enc.ciphertext, uid="u2", key_id=enc.key_id),
                timeout=5,
            )
            assert dec.plaintext == SEED
            with pytest.raises(grpc.RpcError):  # the key ID is authenticated data
                v2.Decrypt(
                    pb2.DecryptRequest(ciphertext=enc.ciphertext, uid="u3", key_id="kcrypt-kek-9"),
                    timeout=5,
                )
    # The key is on the token, sensitive and not extractable: its value cannot be read.
    os.environ["SOFTHSM2_CONF"] = str(token.conf)
    try:
        lib = pkcs11.lib(SOFTHSM_MODULE)
        with lib.get_token(token_label=token.label).open(user_pin=PIN) as session:
            key = session.get_key(label="kcrypt-kek-1", object_class=ObjectClass.SECRET_KEY)
            assert key[Attribute.SENSITIVE] is True
            assert key[Attribute.EXTRACTABLE] is False
            with pytest.raises(pkcs11.exceptions.AttributeSensitive):
                key[Attribute.VALUE]
    finally:
        del os.environ["SOFTHSM2_CONF"]
    log = plugin.log()
    assert PIN not in log and base64.b64encode(SEED).decode() not in log
    assert SEED.hex() not in log


def test_rotation_by_command_and_by_sighup_keeps_old_keys_decrypting(tmp_path: Path) -> None:
    token = SoftHSMToken(tmp_path / "hsm")
    with PluginProcess(tmp_path / "kms.sock", token.backend_args(), token.env()) as plugin:
        channel, v2, v1 = _stubs(plugin.socket)
        with channel:
            old = v2.Encrypt(pb2.EncryptRequest(plaintext=SEED, uid="a"), timeout=5)
            old_v1 = v1.Encrypt(pb1.EncryptRequest(version="v1beta1", plain=SEED), timeout=5)
            assert plugin.rotate() == "kcrypt-kek-2"  # another process, same token
            assert v2.Status(pb2.StatusRequest(), timeout=5).key_id == "kcrypt-kek-2"
            plugin.hup()
            deadline = time.monotonic() + 30
            while v2.Status(pb2.StatusRequest(), timeout=5).key_id != "kcrypt-kek-3":
                assert time.monotonic() < deadline, plugin.log()
                time.sleep(0.1)
            new = v2.Encrypt(pb2.EncryptRequest(plaintext=SEED, uid="b"), timeout=5)
            assert new.key_id == "kcrypt-kek-3"
            for enc in (old, new):
                request = pb2.DecryptRequest(ciphertext=enc.ciphertext, uid="c", key_id=enc.key_id)
                assert v2.Decrypt(request, timeout=5).plaintext == SEED
            request_v1 = pb1.DecryptRequest(version="v1beta1", cipher=old_v1.cipher)
            assert v1.Decrypt(request_v1, timeout=5).plain == SEED
        assert "rotated: new current key ID kcrypt-kek-3" in plugin.log()


def test_a_wrong_pin_is_a_clear_error(tmp_path: Path) -> None:
    token = SoftHSMToken(tmp_path / "hsm")
    token.pin_file.write_text("000000\n")
    plugin = PluginProcess(tmp_path / "kms.sock", token.backend_args(), token.env())
    with pytest.raises(AssertionError):
        plugin.start()
    plugin.stop()
    log = plugin.log()
    assert "Error: PKCS#11 token 'kcrypt-test': the PIN is incorrect" in log
    assert "000000" not in log and "Traceback" not in log


def test_keyfile_backend_is_a_0600_file_and_rotates(tmp_path: Path) -> None:
    keys = tmp_path / "keys" / "kms-keys.json"
    args = ["--backend", "keyfile", "--key-file", str(keys)]
    with PluginProcess(tmp_path / "kms.sock", args, dict(os.environ)) as plugin:
        assert stat.S_IMODE(keys.stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "kms.sock").stat().st_mode) == 0o600
        assert wait_for_status(plugin.socket).key_id == "kcrypt-kek-1"
        assert plugin.rotate() == "kcrypt-kek-2"
        assert wait_for_status(plugin.socket).key_id == "kcrypt-kek-2"
        assert stat.S_IMODE(keys.stat().st_mode) == 0o600
