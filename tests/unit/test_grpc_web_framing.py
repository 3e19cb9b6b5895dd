"""The gRPC-Web wire format of the dashboard's bridge (paysim.web.framing), byte for byte."""

from __future__ import annotations

import base64
import struct

import pytest

from paysim.web import framing


def test_a_request_body_is_exactly_one_uncompressed_message_frame() -> None:
    assert framing.single_message(b"\x00\x00\x00\x00\x03abc") == b"abc"
    assert framing.single_message(b"\x00\x00\x00\x00\x00") == b""
    for body, problem in [
        (b"\x00\x00", "shorter than a frame header"),
        (b"\x01\x00\x00\x00\x01a", "compressed or trailer"),
        (b"\x80\x00\x00\x00\x00", "compressed or trailer"),
        (b"\x00\x00\x00\x00\x02a", "exactly one message frame"),
        (b"\x00\x00\x00\x00\x01ab", "exactly one message frame"),
    ]:
        with pytest.raises(framing.FramingError, match=problem) as caught:
            framing.single_message(body)
        assert caught.value.field == "body"


def test_frames_carry_their_flag_and_length() -> None:
    assert framing.frame(framing.MESSAGE_FLAG, b"hi") == b"\x00\x00\x00\x00\x02hi"
    big = b"x" * 70000
    assert framing.frame(framing.MESSAGE_FLAG, big)[:5] == struct.pack(">BI", 0, 70000)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("5S", 5.0), ("1500m", 1.5), ("2M", 120.0), ("1H", 3600.0), ("250u", 0.00025), ("100n", 1e-7), (None, None)],
)
def test_grpc_timeouts_are_read_in_every_unit(header: str | None, seconds: float | None) -> None:
    assert framing.parse_timeout(header) == (pytest.approx(seconds) if seconds else None)


@pytest.mark.parametrize("header", ["5", "S", "-1S", "1.5S", "123456789S", "5s"])
def test_a_malformed_timeout_is_refused(header: str) -> None:
    with pytest.raises(framing.FramingError) as caught:
        framing.parse_timeout(header)
    assert caught.value.field == "grpc-timeout"


def test_only_the_calls_own_headers_become_metadata() -> None:
    headers = [
        ("Authorization", "Bearer tok"),
        ("Idempotency-Key", "k1"),
        ("Cookie", "session=1"),
        ("Origin", "http://127.0.0.1:8080"),
        ("Content-Type", "application/grpc-web+proto"),
        ("X-Grpc-Web", "1"),
        ("grpc-timeout", "5S"),
        ("grpc-status", "0"),
        ("Sec-Fetch-Mode", "cors"),
        ("paysim-web-peer", "ipv4:10.9.9.9"),
        ("trace-bin", base64.b64encode(b"\x01\x02").decode().rstrip("=")),
        ("Bad Header", "x"),
    ]
    assert framing.call_metadata(headers, "192.0.2.7") == [
        ("paysim-web-peer", "ipv4:192.0.2.7"),
        ("authorization", "Bearer tok"),
        ("idempotency-key", "k1"),
        ("trace-bin", b"\x01\x02"),
    ]
    assert framing.call_metadata([], "::1") == [("paysim-web-peer", "ipv6:[::1]")]


def test_a_binary_header_that_is_not_base64_is_refused() -> None:
    with pytest.raises(framing.FramingError) as caught:
        framing.call_metadata([("trace-bin", "!!!")], "127.0.0.1")
    assert caught.value.field == "trace-bin"


def test_trailers_hold_the_status_its_message_and_binary_details_in_base64() -> None:
    trailer = framing.trailer_frame(
        5, "payment pay_1 not found: 100%", [("grpc-status-details-bin", b"\x08\x05"), ("x-request-id", "r1")]
    )
    assert trailer[0] == framing.TRAILER_FLAG
    (length,) = struct.unpack(">I", trailer[1:5])
    text = trailer[5:].decode()
    assert length == len(trailer) - 5
    assert text == (
        "grpc-status: 5\r\n"
        "grpc-message: payment pay_1 not found: 100%25\r\n"
        "grpc-status-details-bin: CAU=\r\n"
        "x-request-id: r1\r\n"
    )
    assert framing.trailer_frame(0, "", None)[5:] == b"grpc-status: 0\r\n"
