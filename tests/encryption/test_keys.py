"""k3s key names: ``<provider>key-<RFC 3339 local time>``, unique within a config."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from kcrypt.encryption.keys import new_key_name, rfc3339


def test_key_names_are_rfc3339_local_time_and_unique() -> None:
    utc = datetime(2021, 12, 10, 22, 54, 38, tzinfo=UTC)
    cet = datetime(2026, 3, 9, 9, 46, 54, tzinfo=timezone(timedelta(hours=1)))
    assert new_key_name("aescbc", now=utc).startswith("aescbckey-")

    assert rfc3339(utc) == "2021-12-10T22:54:38Z"
    assert rfc3339(cet) == "2026-03-09T09:46:54+01:00"
    first = new_key_name("secretbox", now=utc)
    assert new_key_name("secretbox", now=utc, taken={first}) != first
