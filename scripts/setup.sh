#!/usr/bin/env bash
# Installs everything kcrypt needs on a fresh Debian machine: etcd (for the
# etcd engine and its tests) and SoftHSM2 (the PKCS#11 token behind
# `kcrypt kms-plugin --backend pkcs11` and its tests) from Debian's packages,
# and a virtualenv in .venv with kcrypt and its test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
  echo "setup: installing etcd-server and etcd-client from Debian"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq etcd-server etcd-client >/dev/null
fi

if [ ! -e /usr/lib/softhsm/libsofthsm2.so ] || ! command -v softhsm2-util >/dev/null 2>&1; then
  echo "setup: installing softhsm2 from Debian"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq softhsm2 >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v -i warning || true
.venv/bin/python -m pip install -q -e '.[test]' 2>&1 | grep -v -i warning || true
.venv/bin/python -c "import kcrypt, cryptography, nacl, grpc, uvicorn, pkcs11" || { echo "setup: install failed" >&2; exit 1; }
echo "setup: ok ($(.venv/bin/python --version), $(etcd --version | head -1), softhsm2 $(softhsm2-util --version))"
