#!/usr/bin/env bash
# Installs everything kcrypt needs on a fresh Debian machine: etcd (for the
# etcd engine and its tests) and SoftHSM2 (the PKCS#11 token behind
# `kcrypt kms-plugin --backend pkcs11` and its tests) from Debian's packages,
# and a virtualenv in .venv with kcrypt and its test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the engines and the tests need, installed only when missing:
# etcd (the etcd engine; 3-member clusters on loopback), OpenSSH (kcrypt up
# reaches a node through a real sshd on 127.0.0.1), SoftHSM2 (the KMS plugin's
# PKCS#11 backend).
missing=()
command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1 \
  || missing+=(etcd-server etcd-client)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server openssh-client)
{ [ -e /usr/lib/softhsm/libsofthsm2.so ] && command -v softhsm2-util >/dev/null 2>&1; } \
  || missing+=(softhsm2)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} from Debian"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v -i warning || true
.venv/bin/python -m pip install -q -e '.[test]' 2>&1 | grep -v -i warning || true
.venv/bin/python -c "import kcrypt, cryptography, nacl, grpc, uvicorn, pkcs11" || { echo "setup: install failed" >&2; exit 1; }
echo "setup: ok ($(.venv/bin/python --version), $(etcd --version | head -1), softhsm2 $(softhsm2-util --version))"
