"""Open watches across key changes, without a restart (issue 9, data safety 2).

``kubectl get secrets -w`` and the ``kubernetes`` client's ``watch.Watch`` stay
open while ``secrets-encrypt`` adds, promotes and removes keys -- rotate-keys,
the classic prepare/rotate/reencrypt, disable/enable, a provider switch --
and keep decoding every event: after each step a new secret appears in both.
They used to end with ``InternalError ... unable to transform key ... no
matching key was found``, because a watch kept the transformers it started
with. A watch whose resourceVersion was really compacted ends with upstream's
410 Expired instead.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from .harness import JsonStream, require_tools, wait_until
from .secrets_support import Setup

FAST = ["--reload-interval", "0.2"]


def provider_args(provider: str = "aescbc") -> list[str]:
    return ["--secrets-encryption", "--secrets-encryption-provider", provider, *FAST]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    require_tools("kubectl", "sqlite3")
    s = Setup(tmp_path, provider_args())
    try:
        yield s
    finally:
        s.stop()


class Watchers:
    """A ``kubectl get secrets -w`` (from now) and a ``watch.Watch`` (from
    ``resource_version``, as an informer resumes)."""

    def __init__(self, s: Setup, resource_version: str) -> None:
        self.kubectl = s.kubectl.popen(
            "get", "secrets", "-w", "--output-watch-events", "-o", "json"
        )
        self.stream = JsonStream(self.kubectl)
        self.setup = s
        self.api = config.new_client_from_config(config_file=str(s.server.kubeconfig))
        self.watch = watch.Watch()
        self.python_events: list[tuple[str, str]] = []
        self.python_error: BaseException | None = None
        self.last_rv = resource_version
        self.thread = threading.Thread(target=self._consume, args=(resource_version,), daemon=True)
        self.thread.start()

    def _consume(self, resource_version: str) -> None:
        core = client.CoreV1Api(self.api)
        try:
            for event in self.watch.stream(
                core.list_namespaced_secret,
                "default",
                resource_version=resource_version,
                timeout_seconds=600,
            ):
                self.python_events.append((event["type"], event["object"].metadata.name))
                self.last_rv = event["object"].metadata.resource_version
        except BaseException as exc:
            self.python_error = exc

    def expect(self, name: str, *, timeout: float = 60) -> None:
        """Both watchers report ``name`` as ADDED (kubectl's stream never ended)."""
        while True:
            event = self.stream.next(timeout=timeout)
            assert event["type"] != "ERROR", event
            if (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", name):
                break
        deadline = time.monotonic() + timeout
        while ("ADDED", name) not in self.python_events:
            assert self.python_error is None, str(self.python_error)
            assert self.thread.is_alive(), "the python watch ended"
            assert time.monotonic() < deadline, f"python watch did not see {name}"
            time.sleep(0.05)

    def stop(self) -> None:
        self.stream.close()
        self.watch.stop()
        if self.thread.is_alive():  # one more event lets the stream see stop() and close
            with contextlib.suppress(AssertionError):  # a failed test keeps its own error
                create(self.setup, "watch-end")
            self.thread.join(timeout=30)
        self.api.close()


def open_watchers(s: Setup, resource_version: str) -> Watchers:
    """Both watches, established: each has seen a secret created after it started."""
    w = Watchers(s, resource_version)
    create(s, "watch-ready")
    w.expect("watch-ready")
    s.kubectl.run("delete", "secret", "watch-ready")
    return w


def start_rv(s: Setup) -> str:
    """The list's resourceVersion (kubectl prints lists as a List without one)."""
    with s.server.client() as raw:
        listed = raw.get("/api/v1/namespaces/default/secrets").json()
    return str(listed["metadata"]["resourceVersion"])


def create(s: Setup, name: str) -> None:
    s.kubectl.run("create", "secret", "generic", name, f"--from-literal=v={name}")


def test_watches_survive_rotate_keys(setup: Setup) -> None:
    create(setup, "before")
    w = open_watchers(setup, start_rv(setup))
    try:
        for round_ in range(2):
            setup.cli.ok("rotate-keys")
            create(setup, f"after-rotate-{round_}")
            w.expect(f"after-rotate-{round_}")
    finally:
        w.stop()
    assert ("MODIFIED", "before") in w.python_events  # the pass rewrote it; decoded live


def step(s: Setup, w: Watchers, name: str, *commands: tuple[str, ...], stage: str = "") -> None:
    """Run ``secrets-encrypt`` commands (waiting for ``stage``), create ``name``, see it."""
    for command in commands:
        s.cli.ok(*command)
    if stage:
        s.cli.wait_stage(stage)
    create(s, name)
    w.expect(name)


def test_watches_survive_the_classic_prepare_rotate_reencrypt(setup: Setup) -> None:
    create(setup, "before")
    w = open_watchers(setup, start_rv(setup))
    try:
        step(setup, w, "after-prepare", ("prepare",))
        step(setup, w, "after-rotate", ("rotate",))
        step(setup, w, "after-reencrypt", ("reencrypt",), stage="reencrypt_finished")
    finally:
        w.stop()


def test_watches_survive_disable_and_enable(setup: Setup) -> None:
    create(setup, "before")
    w = open_watchers(setup, start_rv(setup))
    try:
        skip = ("reencrypt", "--force", "--skip")
        step(setup, w, "while-disabled", ("disable",), skip, stage="start")
        step(setup, w, "enabled-again", ("enable",), skip, stage="start")
    finally:
        w.stop()


def test_watches_survive_a_provider_switch(setup: Setup) -> None:
    """k3s switches provider with a restart (which ends every connection) and then
    rotate-keys; a client re-watching from its last resourceVersion follows both."""
    create(setup, "before")
    w = open_watchers(setup, start_rv(setup))
    try:
        create(setup, "seen")
        w.expect("seen")
        last = w.last_rv
    finally:
        w.stop()
    setup.restart(provider_args("secretbox"))
    w = open_watchers(setup, last)
    try:
        setup.cli.ok("rotate-keys")
        create(setup, "under-secretbox")
        w.expect("under-secretbox")
    finally:
        w.stop()
    assert setup.cli.status()["activekey"].startswith("XSalsa20-POLY1305 secretboxkey-")


def test_a_watch_from_a_compacted_resource_version_ends_with_410(setup: Setup) -> None:
    old = start_rv(setup)
    create(setup, "s1")
    setup.cli.ok("rotate-keys")  # removes the old key, then compacts the history at once
    wait_until(lambda: "history compacted up to revision" in setup.server.log())
    api = config.new_client_from_config(config_file=str(setup.server.kubeconfig))
    try:
        core = client.CoreV1Api(api)
        with pytest.raises(ApiException) as expired:
            for _ in watch.Watch().stream(
                core.list_namespaced_secret, "default", resource_version=old, timeout_seconds=30
            ):
                pass
        assert expired.value.status == 410
    finally:
        api.close()
    with setup.server.client() as raw:  # what kubectl and informers read: an ERROR event
        r = raw.get(f"/api/v1/namespaces/default/secrets?watch=1&resourceVersion={old}")
    (line,) = r.text.splitlines()
    event = json.loads(line)
    assert event["type"] == "ERROR"
    assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")
    assert event["object"]["message"].startswith("too old resource version: ")
    assert "Traceback" not in setup.server.log()


def events_of(raw: Any) -> list[str]:
    return [e["reason"] for e in raw["items"]]


def test_a_pass_records_events_on_the_node(setup: Setup) -> None:
    """kcrypt's own long operations are core/v1 Events, as k3s records them."""
    create(setup, "s1")
    setup.cli.ok("rotate-keys")
    reasons: list[str] = []
    for _ in range(100):
        reasons = events_of(setup.kubectl.json("get", "events", "-n", "default"))
        if "EncryptionKeyRemoved" in reasons:
            break
        time.sleep(0.1)
    assert reasons[:1] == ["SecretsUpdateStart"] and "SecretsUpdateComplete" in reasons
    assert "EncryptionKeyRemoved" in reasons
    table = setup.kubectl.run("get", "events")
    assert "node/e2e-node" in table and "reencrypted" in table
