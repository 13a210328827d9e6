"""``kcrypt kms-plugin``: a reference KMS plugin serving KMS v2 and v1beta1.

Backends: ``pkcs11`` (keys generated on a PKCS#11 token and never leaving
it: SoftHSM2 or an HSM) and ``keyfile`` (a 0600 file of keys, for
development). Key rotation adds a new key with a new key ID; old keys keep
decrypting. See docs/kms.md.
"""

from kcrypt.kmsplugin.backend import Backend
from kcrypt.kmsplugin.errors import PluginError, UnknownKeyID
from kcrypt.kmsplugin.keyfile import KeyfileBackend
from kcrypt.kmsplugin.server import PluginServer, serve

__all__ = [
    "Backend",
    "KeyfileBackend",
    "PluginError",
    "PluginServer",
    "UnknownKeyID",
    "serve",
]
