#!/usr/bin/env bash
# Installs everything kcrypt needs on a fresh Debian machine: etcd (for the
# etcd engine and its tests) from Debian's packages, and a virtualenv in .venv
# with kcrypt and its test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
  echo "setup: installing etcd-server and etcd-client from Debian"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq etcd-server etcd-client >/dev/null
fi

# kcrypt up's tests reach a node through a real OpenSSH server on 127.0.0.1.
if [ ! -x /usr/sbin/sshd ]; then
  echo "setup: installing openssh-server and openssh-client from Debian"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    openssh-server openssh-client >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v -i warning || true
.venv/bin/python -m pip install -q -e '.[test]' 2>&1 | grep -v -i warning || true
.venv/bin/python -c "import kcrypt, cryptography, nacl, grpc, uvicorn" || { echo "setup: install failed" >&2; exit 1; }
echo "setup: ok ($(.venv/bin/python --version), $(etcd --version | head -1))"
