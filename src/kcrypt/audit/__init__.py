"""Which key protects every value: a read-only audit of a datastore, and offline decryption.

:func:`audit_store` reads a datastore (kcrypt's, a k3s ``state.db``, a
kubeadm etcd over TLS) with any EncryptionConfiguration and reports, per
resource x provider x key, counts, stale values, plaintext the config would
encrypt, values no key opens (with the reason) and older revisions that
still hold old ciphertexts. It never writes.
"""

from kcrypt.audit.classify import Classifier, classify, resource_of, writer_of
from kcrypt.audit.decrypt import Decrypted, decrypt_objects
from kcrypt.audit.errors import AuditError, DecryptRefused
from kcrypt.audit.report import KeyUse, Report
from kcrypt.audit.scan import audit_store, by_key
from kcrypt.audit.sources import (
    AuditConfig,
    live_audit_config,
    load_audit_config,
    offline_audit_config,
    open_offline,
)

__all__ = [
    "AuditConfig",
    "AuditError",
    "Classifier",
    "DecryptRefused",
    "Decrypted",
    "KeyUse",
    "Report",
    "audit_store",
    "by_key",
    "classify",
    "decrypt_objects",
    "live_audit_config",
    "load_audit_config",
    "offline_audit_config",
    "open_offline",
    "resource_of",
    "writer_of",
]
