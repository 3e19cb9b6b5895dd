"""Webhook endpoints and deliveries: the use cases behind WebhookService."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from paysim.domain import ids
from paysim.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from paysim.domain.messages import WebhookDeliveriesWritten
from paysim.domain.paging import Cursor
from paysim.domain.principal import Principal
from paysim.domain.validation import Violations, check_id, check_text
from paysim.domain.webhooks import (
    MAX_DESCRIPTION_CHARS,
    MAX_ENDPOINTS_PER_MERCHANT,
    MAX_OVERLAP,
    DeliveryState,
    WebhookDelivery,
    WebhookEndpoint,
    check_url,
    normalize_event_types,
)
from paysim.security.webhook_secrets import SecretBox, new_secret
from paysim.services.clock import Clock
from paysim.services.scope import merchant_scope, visible_merchant
from paysim.services.webhook_targets import TargetGuard, TargetRefused
from paysim.store.repositories.webhooks import DeliveryFilter
from paysim.store.unit_of_work import UnitOfWork, UnitOfWorkFactory

ENDPOINT = "webhook_endpoint"
DELIVERY = "webhook_delivery"
EVENT_ID_PREFIX = "evt"


class WebhookService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        box: SecretBox,
        guard: TargetGuard,
        clock: Clock,
        *,
        default_overlap: timedelta = timedelta(hours=24),
    ) -> None:
        self._uow = uow
        self._box = box
        self._guard = guard
        self._clock = clock
        self._default_overlap = default_overlap

    async def _check_target(self, url: str) -> None:
        v = Violations()
        target = check_url(v, "url", url)
        v.raise_if_any()
        assert target is not None
        try:
            await self._guard.addresses(target)
        except TargetRefused as refused:
            raise InvalidArgument([FieldViolation("url", str(refused), refused.reason)]) from None

    async def _visible_endpoint(self, uow: UnitOfWork, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
        endpoint = await uow.webhook_endpoints.get(endpoint_id, for_update=True)
        if endpoint is None:
            raise NotFound(ENDPOINT, endpoint_id)
        visible_merchant(principal, endpoint.merchant_id, ENDPOINT, endpoint_id)
        return endpoint

    @staticmethod
    def _check_endpoint_id(endpoint_id: str) -> None:
        v = Violations()
        check_id(v, "webhook_endpoint_id", endpoint_id, ids.WEBHOOK_ENDPOINT)
        v.raise_if_any()

    async def create(
        self,
        principal: Principal,
        merchant_id: str,
        *,
        url: str,
        event_types: Sequence[str],
        description: str = "",
        enabled: bool = True,
    ) -> tuple[WebhookEndpoint, str]:
        """The stored endpoint and its secret (returned here only)."""
        v = Violations()
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT, required=False)
        url = url.strip()
        check_url(v, "url", url)
        types = normalize_event_types(v, "event_types", event_types)
        check_text(v, "description", description, max_chars=MAX_DESCRIPTION_CHARS)
        v.raise_if_any()
        target = merchant_scope(principal, merchant_id)
        await self._check_target(url)
        now = self._clock()
        endpoint = WebhookEndpoint(
            id=ids.new_id(ids.WEBHOOK_ENDPOINT),
            merchant_id=target,
            url=url,
            event_types=types,
            enabled=enabled,
            description=description.strip(),
            disabled_reason="",
            previous_secret_expires_at=None,
            created_at=now,
            updated_at=now,
        )
        secret = new_secret()
        async with self._uow() as uow:
            if await uow.merchants.get(target) is None:
                raise NotFound("merchant", target)
            if await uow.webhook_endpoints.count_for_merchant(target) >= MAX_ENDPOINTS_PER_MERCHANT:
                raise FailedPrecondition(
                    f"a merchant has at most {MAX_ENDPOINTS_PER_MERCHANT} webhook endpoints; delete one first",
                    reason="WEBHOOK_ENDPOINT_LIMIT",
                )
            await uow.webhook_endpoints.add(endpoint, self._box.seal(secret, endpoint.id))
            await uow.commit()
        return endpoint, secret

    async def get(self, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
        self._check_endpoint_id(endpoint_id)
        async with self._uow() as uow:
            endpoint = await uow.webhook_endpoints.get(endpoint_id)
        if endpoint is None:
            raise NotFound(ENDPOINT, endpoint_id)
        visible_merchant(principal, endpoint.merchant_id, ENDPOINT, endpoint_id)
        return endpoint

    async def list_page(
        self, principal: Principal, merchant_id: str, cursor: Cursor | None, limit: int
    ) -> tuple[list[WebhookEndpoint], bool]:
        v = Violations()
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT, required=False)
        v.raise_if_any()
        target = merchant_scope(principal, merchant_id)
        async with self._uow() as uow:
            return await uow.webhook_endpoints.list_page(target, cursor, limit)

    async def update(
        self,
        principal: Principal,
        endpoint_id: str,
        *,
        url: str | None = None,
        event_types: Sequence[str] | None = None,
        enabled: bool | None = None,
        description: str | None = None,
    ) -> WebhookEndpoint:
        v = Violations()
        check_id(v, "webhook_endpoint_id", endpoint_id, ids.WEBHOOK_ENDPOINT)
        if url is not None:
            url = url.strip()
            check_url(v, "url", url)
        types = normalize_event_types(v, "event_types", event_types) if event_types is not None else None
        if description is not None:
            check_text(v, "description", description, max_chars=MAX_DESCRIPTION_CHARS)
        v.raise_if_any()
        if url is not None:
            # Resolved before the transaction: a slow name server must not hold the row lock.
            await self._check_target(url)
        async with self._uow() as uow:
            endpoint = await self._visible_endpoint(uow, principal, endpoint_id)
            resumed = enabled is True and not endpoint.enabled
            endpoint = replace(
                endpoint,
                url=endpoint.url if url is None else url,
                event_types=endpoint.event_types if types is None else types,
                enabled=endpoint.enabled if enabled is None else enabled,
                # Whoever enables or disables it now decides; paysim's reason no longer holds.
                disabled_reason=endpoint.disabled_reason if enabled is None else "",
                description=endpoint.description if description is None else description.strip(),
                updated_at=self._clock(),
            )
            await uow.webhook_endpoints.update(endpoint)
            if resumed:  # its waiting deliveries are due again
                uow.notify(WebhookDeliveriesWritten())
            await uow.commit()
        return endpoint

    async def delete(self, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
        self._check_endpoint_id(endpoint_id)
        async with self._uow() as uow:
            endpoint = await self._visible_endpoint(uow, principal, endpoint_id)
            await uow.webhook_endpoints.delete(endpoint_id)
            await uow.commit()
        return endpoint

    async def rotate_secret(
        self, principal: Principal, endpoint_id: str, overlap: timedelta | None = None
    ) -> tuple[WebhookEndpoint, str]:
        """A new secret (returned here only); the current one keeps signing for ``overlap``."""
        v = Violations()
        check_id(v, "webhook_endpoint_id", endpoint_id, ids.WEBHOOK_ENDPOINT)
        overlap = self._default_overlap if overlap is None else overlap
        if not timedelta(0) <= overlap <= MAX_OVERLAP:
            v.add("overlap_seconds", f"must be 0 to {int(MAX_OVERLAP.total_seconds())} seconds", "OUT_OF_RANGE")
        v.raise_if_any()
        secret = new_secret()
        now = self._clock()
        async with self._uow() as uow:
            endpoint = await self._visible_endpoint(uow, principal, endpoint_id)
            sealed = await uow.webhook_endpoints.secrets(endpoint_id)
            assert sealed is not None
            keep = overlap > timedelta(0)
            until = now + overlap if keep else None
            await uow.webhook_endpoints.rotate(
                endpoint_id, self._box.seal(secret, endpoint_id), sealed.current if keep else None, until, now
            )
            await uow.commit()
        return replace(endpoint, previous_secret_expires_at=until, updated_at=now), secret

    async def list_deliveries(
        self,
        principal: Principal,
        merchant_id: str,
        *,
        endpoint_id: str = "",
        event_id: str = "",
        state: DeliveryState | None = None,
        cursor: Cursor | None = None,
        limit: int = 50,
    ) -> tuple[list[WebhookDelivery], bool]:
        v = Violations()
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT, required=False)
        check_id(v, "webhook_endpoint_id", endpoint_id, ids.WEBHOOK_ENDPOINT, required=False)
        check_id(v, "event_id", event_id, EVENT_ID_PREFIX, required=False)
        v.raise_if_any()
        target = merchant_scope(principal, merchant_id)
        async with self._uow() as uow:
            return await uow.webhook_deliveries.list_page(
                DeliveryFilter(target, endpoint_id, event_id, state), cursor, limit
            )

    async def redeliver(self, principal: Principal, delivery_id: str) -> WebhookDelivery:
        v = Violations()
        check_id(v, "webhook_delivery_id", delivery_id, ids.WEBHOOK_DELIVERY)
        v.raise_if_any()
        now = self._clock()
        async with self._uow() as uow:
            original = await uow.webhook_deliveries.get(delivery_id)
            if original is None:
                raise NotFound(DELIVERY, delivery_id)
            visible_merchant(principal, original.merchant_id, DELIVERY, delivery_id)
            endpoint = await uow.webhook_endpoints.get(original.endpoint_id)
            assert endpoint is not None  # deliveries go with their endpoint
            if not endpoint.enabled:
                raise FailedPrecondition(
                    "the delivery's endpoint is disabled; enable it first",
                    reason="WEBHOOK_ENDPOINT_DISABLED",
                    metadata={"webhook_endpoint_id": endpoint.id},
                )
            again = replace(
                original,
                id=ids.new_id(ids.WEBHOOK_DELIVERY),
                state=DeliveryState.PENDING,
                attempt_count=0,
                next_attempt_at=now,
                redelivery_of=original.id,
                created_at=now,
                updated_at=now,
                attempts=(),
            )
            await uow.webhook_deliveries.add(again)
            uow.notify(WebhookDeliveriesWritten())
            await uow.commit()
        return again
