"""Several envelopes in one broker message: what a send packs, and what a consumer unpacks."""

from __future__ import annotations

import json

import pytest

from dolmen.events import Envelope
from dolmen.units._transports._port import PACK_BYTES, encode, packed, partition_of, unpacked


def happened(n: int, subject: str | None, data: str = "{}") -> Envelope:
    return Envelope(f"e{n}", "orders.OrderPlaced", 1, "/shop", 1.0, data, subject, "00-t-s-01")


def test_a_send_packs_each_partitions_envelopes_in_the_order_sent() -> None:
    sent = [happened(n, f"order-{n % 5}") for n in range(40)]

    bodies = packed(sent, partitions=4)

    assert len({partition for partition, _, _ in bodies}) == len(bodies)  # one per partition
    for partition, body, count in bodies:
        received = unpacked(body)
        assert len(received) == count
        assert received == [e for e in sent if partition_of(e, 4) == partition]


def test_a_large_send_is_split_in_messages_that_keep_the_order() -> None:
    big = "x" * 10_000
    sent = [happened(n, "order-1", json.dumps({"note": big})) for n in range(60)]

    bodies = packed(sent, partitions=4)

    assert len(bodies) > 1
    assert all(len(body) <= PACK_BYTES + len(encode(sent[0])) for _, body, _ in bodies)
    assert [e for _, body, _ in bodies for e in unpacked(body)] == sent


def test_a_lone_envelope_is_the_message_an_earlier_version_sent() -> None:
    alone = happened(1, None)

    [(_, body, count)] = packed([alone], partitions=8)

    assert (body, count) == (encode(alone), 1)
    assert unpacked(body) == [alone]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"id": "e1"}', b'"text"'])
def test_a_message_that_is_no_envelope_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match="not a Dolmen envelope"):
        unpacked(body)
