"""kcrypt: Kubernetes secrets encryption at rest, safe and fast.

Importing the package has no side effects; the layers live in sub-packages
(see DESIGN.md): envelope, config, codec, datastore, storage, apiserver,
encryption, server, cli.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
