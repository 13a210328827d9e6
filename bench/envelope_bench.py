"""Envelope throughput: kcrypt providers vs the bare cryptography/PyNaCl call, same run.

Run: ``.venv/bin/python bench/envelope_bench.py [--seconds 1.0]``. Prints a
markdown table of ops/s for 1 KiB values. The "bare" column is the cipher
call alone (same nonce/IV generation), so the ratio is kcrypt's overhead:
prefix dispatch, error handling, protobuf for KMS v2.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import nacl.secret
import nacl.utils
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from kcrypt.envelope import (
    Base64KMSv1Client,
    Base64KMSv2Client,
    Chain,
    Key,
    aescbc,
    aesgcm,
    identity,
    kms_v1,
    kms_v2,
    secretbox,
)
from kcrypt.sensitive import SecretBytes

VALUE = os.urandom(1024)
CONTEXT = b"/registry/secrets/default/bench-secret"
KEY = os.urandom(32)


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds`` (batches of 100)."""
    fn()
    calls, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            fn()
        calls += 100
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start)


def bare_cbc() -> tuple[Callable[[], bytes], Callable[[bytes], bytes]]:
    algo = algorithms.AES(KEY)

    def enc() -> bytes:
        iv = os.urandom(16)
        p = padding.PKCS7(128).padder()
        e = Cipher(algo, modes.CBC(iv)).encryptor()
        return iv + e.update(p.update(VALUE) + p.finalize()) + e.finalize()

    def dec(data: bytes) -> bytes:
        d = Cipher(algo, modes.CBC(data[:16])).decryptor()
        out = d.update(data[16:]) + d.finalize()
        u = padding.PKCS7(128).unpadder()
        return u.update(out) + u.finalize()

    return enc, dec


def bare_gcm() -> tuple[Callable[[], bytes], Callable[[bytes], bytes]]:
    aead = AESGCM(KEY)

    def enc() -> bytes:
        nonce = os.urandom(12)
        return nonce + aead.encrypt(nonce, VALUE, CONTEXT)

    return enc, lambda data: aead.decrypt(data[:12], data[12:], CONTEXT)


def bare_secretbox() -> tuple[Callable[[], bytes], Callable[[bytes], bytes]]:
    box = nacl.secret.SecretBox(KEY)
    return (
        lambda: bytes(box.encrypt(VALUE, nacl.utils.random(24))),
        lambda data: box.decrypt(data[24:], data[:24]),
    )


def bare_hkdf_gcm() -> tuple[Callable[[], bytes], Callable[[bytes], bytes]]:
    def aead(info: bytes) -> AESGCM:
        return AESGCM(HKDFExpand(hashes.SHA256(), 32, info).derive(KEY))

    def enc() -> bytes:
        info, nonce = os.urandom(32), os.urandom(12)
        return info + nonce + aead(info).encrypt(nonce, VALUE, CONTEXT)

    return enc, lambda d: aead(d[:32]).decrypt(d[32:44], d[44:], CONTEXT)


def bare_fresh_dek_gcm() -> tuple[Callable[[], bytes], Callable[[bytes], bytes]]:
    cached = AESGCM(KEY)
    nonce = os.urandom(12)
    stored = nonce + cached.encrypt(nonce, VALUE, CONTEXT)

    def enc() -> bytes:  # KMS v1 writes make a new DEK each time
        nonce = os.urandom(12)
        return nonce + AESGCM(os.urandom(32)).encrypt(nonce, VALUE, CONTEXT)

    # reads hit the DEK cache: decrypt with an already built AESGCM
    return enc, lambda _data: cached.decrypt(stored[:12], stored[12:], CONTEXT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    args = parser.parse_args()
    key = [Key("key1", SecretBytes(KEY))]
    rows = [
        ("identity", Chain([identity()]), (lambda: VALUE, lambda d: d)),
        ("aescbc (AES-256)", Chain([aescbc(key)]), bare_cbc()),
        ("aesgcm (AES-256)", Chain([aesgcm(key)]), bare_gcm()),
        ("secretbox", Chain([secretbox(key)]), bare_secretbox()),
        ("kms v2 (fake plugin)", Chain([kms_v2("bench", Base64KMSv2Client())]), bare_hkdf_gcm()),
        (
            "kms v1 (fake plugin)",
            Chain([kms_v1("bench", Base64KMSv1Client())]),
            bare_fresh_dek_gcm(),
        ),
    ]
    print(f"1 KiB values, {args.seconds:g} s per cell, Python {platform.python_version()}\n")
    print("| provider | op | kcrypt ops/s | bare ops/s | kcrypt / bare |")
    print("|---|---|---:|---:|---:|")
    for name, chain, (bare_enc, bare_dec) in rows:
        stored, bare_stored = chain.to_storage(VALUE, context=CONTEXT), bare_enc()
        ours_w = rate(lambda c=chain: c.to_storage(VALUE, context=CONTEXT), args.seconds)  # type: ignore[misc]
        bare_w = rate(bare_enc, args.seconds)
        ours_r = rate(lambda c=chain, s=stored: c.from_storage(s, context=CONTEXT), args.seconds)  # type: ignore[misc]
        bare_r = rate(lambda d=bare_dec, s=bare_stored: d(s), args.seconds)  # type: ignore[misc]
        for op, ours, bare in (("encrypt", ours_w, bare_w), ("decrypt", ours_r, bare_r)):
            print(f"| {name} | {op} | {ours:,.0f} | {bare:,.0f} | {ours / bare:.2f} |")


if __name__ == "__main__":
    main()
