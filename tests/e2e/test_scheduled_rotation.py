"""A real server with ``--secrets-encryption-rotation-interval 30s`` rotates on its own,
twice, while kubectl keeps writing; every value stays readable."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from .harness import require_tools, wait_until
from .secrets_support import Setup, create_with_kubectl, keys_in_status, secret_set


def test_two_scheduled_rotations_under_kubectl_writes(tmp_path: Path) -> None:
    require_tools("kubectl", "sqlite3")
    setup = Setup(
        tmp_path,
        ["--secrets-encryption", "--secrets-encryption-rotation-interval", "30s"],
    )
    try:
        setup.add(20, "before")
        first, _ = keys_in_status(setup.cli.status())
        assert setup.cli.status()["rotation"]["interval"] == 30.0
        assert "Key Rotation: every 30s, active key " in setup.cli.text()

        stop = threading.Event()
        errors: list[str] = []
        written: dict[tuple[str, str], dict[str, bytes]] = {}

        def writer() -> None:
            i = 0
            while not stop.is_set():
                batch = secret_set(1, tag=f"during-{i}")
                try:
                    create_with_kubectl(setup.kubectl, batch)
                    written.update(batch)
                except AssertionError as exc:
                    errors.append(str(exc)[:300])
                i += 1
                time.sleep(0.2)

        thread = threading.Thread(target=writer)
        thread.start()
        seen = [first]
        try:

            def rotated() -> bool:
                active, names = keys_in_status(setup.cli.status())
                if active != seen[-1] and names == [active]:
                    seen.append(active)
                return len(seen) == 3

            wait_until(rotated, timeout=150, interval=1.0)
        finally:
            stop.set()
            thread.join(timeout=30)
        assert not errors, errors[:3]
        assert len(written) > 10  # the writes really ran through both rotations
        setup.secrets.update(written)
        doc = setup.cli.status()
        assert doc["stage"] == "reencrypt_finished"
        setup.check(seen[-1])  # every value under the newest key, all read back by kubectl
        assert "scheduled key rotation" in setup.server.log()
    finally:
        setup.stop()
