"""etcd endpoint URLs: members, TLS, options; credentials never printed."""

from __future__ import annotations

import pytest

from kcrypt.datastore import InvalidEndpoint
from kcrypt.datastore.etcd.channel import parse_url
from kcrypt.datastore.etcd.connect import open_etcd
from kcrypt.datastore.etcd.engine import prefix_end


def test_members_default_port_and_printable_form() -> None:
    u = parse_url("etcd://10.0.0.1:2379,10.0.0.2,http://[::1]:12379")
    assert u.members == ("10.0.0.1:2379", "10.0.0.2:2379", "[::1]:12379")
    assert not u.tls and u.printable == "etcd://10.0.0.1:2379,10.0.0.2:2379,[::1]:12379"
    assert parse_url("https://h:1").tls and parse_url("etcds://h:1").printable == "etcds://h:1"


def test_options_come_from_the_query() -> None:
    assert parse_url("etcd://h:1?txn_batch=64").options == (("txn_batch", "64"),)


@pytest.mark.parametrize(
    "url", ["etcd://h:1?txn_batch=0", "etcd://h:1?txn_batch=999", "etcd://h:1?x=1"]
)
async def test_bad_options_are_refused(url: str) -> None:
    with pytest.raises(InvalidEndpoint):
        await open_etcd(url, timeout=0.2)


async def test_tls_files_for_a_plain_endpoint_are_refused() -> None:
    with pytest.raises(InvalidEndpoint, match="etcds://"):
        await open_etcd("etcd://127.0.0.1:1", ca_file="/nonexistent/ca.crt")


def test_prefix_end() -> None:
    assert prefix_end(b"/a/") == b"/a0"
    assert prefix_end(b"a\xff") == b"b"
    assert prefix_end(b"\xff\xff") == b"\0"
    assert prefix_end(b"") == b"\0"
