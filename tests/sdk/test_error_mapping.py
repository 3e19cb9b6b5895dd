"""From a gRPC status with google.rpc details to the exception class and its fields."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from paysim_client import errors


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def _aio_error(status: status_pb2.Status | None, code: grpc.StatusCode, message: str) -> grpc.aio.AioRpcError:
    trailers = [("x-request-id", "trailer-id")]
    if status is not None:
        trailers += list(rpc_status.to_status(status).trailing_metadata)
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers), message)


def _status(code: int, message: str, *details: object) -> status_pb2.Status:
    return status_pb2.Status(code=code, message=message, details=[_pack(d) for d in details])


def test_every_detail_lands_on_the_exception() -> None:
    status = _status(
        code_pb2.FAILED_PRECONDITION,
        "cannot refund 2000: 1500 is refundable",
        error_details_pb2.ErrorInfo(
            reason="AMOUNT_EXCEEDS_REFUNDABLE",
            domain="paysim.v1",
            metadata={"payment_id": "pay_1", "refundable_amount_minor": "1500"},
        ),
        error_details_pb2.PreconditionFailure(
            violations=[error_details_pb2.PreconditionFailure.Violation(type="T", subject="pay_1", description="d")]
        ),
        error_details_pb2.RequestInfo(request_id="rid-1"),
    )
    error = errors.from_grpc_error(_aio_error(status, grpc.StatusCode.FAILED_PRECONDITION, status.message))
    assert type(error) is errors.AmountExceedsRefundable
    assert isinstance(error, errors.FailedPrecondition) and isinstance(error, errors.PaysimError)
    assert error.code is grpc.StatusCode.FAILED_PRECONDITION
    assert (error.reason, error.domain, error.request_id) == ("AMOUNT_EXCEEDS_REFUNDABLE", "paysim.v1", "rid-1")
    assert error.metadata == {"payment_id": "pay_1", "refundable_amount_minor": "1500"}
    assert error.refundable_amount_minor == 1500
    assert error.precondition_violations == (errors.PreconditionViolation("T", "pay_1", "d"),)
    assert error.status == status
    assert str(error) == (
        "FAILED_PRECONDITION: cannot refund 2000: 1500 is refundable "
        "(reason=AMOUNT_EXCEEDS_REFUNDABLE, request_id=rid-1)"
    )


def test_field_violations_retry_info_and_quota() -> None:
    bad = _status(
        code_pb2.INVALID_ARGUMENT,
        "x",
        error_details_pb2.BadRequest(
            field_violations=[error_details_pb2.BadRequest.FieldViolation(field="f", description="d", reason="R")]
        ),
    )
    error = errors.from_grpc_error(_aio_error(bad, grpc.StatusCode.INVALID_ARGUMENT, "x"))
    assert type(error) is errors.InvalidArgument
    assert error.field_violations == (errors.FieldViolation("f", "d", "R"),)
    assert error.request_id == "trailer-id"  # no RequestInfo: the trailer's id
    limited = _status(
        code_pb2.RESOURCE_EXHAUSTED,
        "slow",
        error_details_pb2.ErrorInfo(reason="RATE_LIMITED"),
        error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2, nanos=500_000_000)),
        error_details_pb2.QuotaFailure(
            violations=[error_details_pb2.QuotaFailure.Violation(subject="s", description="d")]
        ),
    )
    error = errors.from_grpc_error(_aio_error(limited, grpc.StatusCode.RESOURCE_EXHAUSTED, "slow"))
    assert type(error) is errors.RateLimited
    assert error.retry_delay == pytest.approx(2.5)
    assert error.quota_violations == (errors.QuotaViolation("s", "d"),)


def test_a_reason_under_another_code_or_an_unknown_reason_gets_the_codes_class() -> None:
    odd = _status(code_pb2.NOT_FOUND, "x", error_details_pb2.ErrorInfo(reason="AMOUNT_EXCEEDS_REFUNDABLE"))
    assert type(errors.from_grpc_error(_aio_error(odd, grpc.StatusCode.NOT_FOUND, "x"))) is errors.NotFound
    new = _status(code_pb2.FAILED_PRECONDITION, "x", error_details_pb2.ErrorInfo(reason="SOMETHING_NEW"))
    error = errors.from_grpc_error(_aio_error(new, grpc.StatusCode.FAILED_PRECONDITION, "x"))
    assert type(error) is errors.FailedPrecondition and error.reason == "SOMETHING_NEW"


def test_details_that_contradict_the_status_line_are_ignored() -> None:
    status = _status(code_pb2.NOT_FOUND, "other", error_details_pb2.ErrorInfo(reason="PAYMENT_BUSY"))
    error = errors.from_grpc_error(_aio_error(status, grpc.StatusCode.ABORTED, "busy"))
    assert type(error) is errors.Aborted and error.reason == "" and error.status is None


# Codes paysim never answers with (or only a broken connection or this process produces): their
# classes are reached through the mapping alone.
@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (grpc.StatusCode.CANCELLED, errors.Cancelled),
        (grpc.StatusCode.UNKNOWN, errors.Unknown),
        (grpc.StatusCode.OUT_OF_RANGE, errors.OutOfRange),
        (grpc.StatusCode.INTERNAL, errors.Internal),
        (grpc.StatusCode.DATA_LOSS, errors.DataLoss),
        (grpc.StatusCode.UNIMPLEMENTED, errors.Unimplemented),
        (grpc.StatusCode.UNAVAILABLE, errors.Unavailable),
    ],
)
def test_a_status_without_details_maps_by_code(code: grpc.StatusCode, cls: type[errors.RpcError]) -> None:
    error = errors.from_grpc_error(_aio_error(None, code, ""))
    assert type(error) is cls
    assert error.code is code and error.reason == "" and error.status is None
    assert error.message == code.name.lower().replace("_", " ")


def test_every_status_code_has_a_class() -> None:
    for code in grpc.StatusCode:
        if code is not grpc.StatusCode.OK:
            assert errors.error_class(code, "").grpc_code is code
