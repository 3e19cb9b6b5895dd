"""Receive signed webhooks: a tiny HTTP receiver from the standard library on a free local port,
an endpoint pointing at it, a payment and a refund, and every delivery's ``Paysim-Signature``
checked with ``paysim_client.webhooks.verify`` before it is trusted.

    python clients/python/examples/receive_webhooks.py   # PAYSIM_TARGET, PAYSIM_API_KEY: see _setup.py

The server must be on this machine, or able to reach it: it sends to loopback addresses unless
PAYSIM_WEBHOOK_ALLOW_LOOPBACK is false.
"""

from __future__ import annotations

import http.client
import json
import queue
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import paysim_client
from _setup import credentials, target
from paysim_client import webhooks
from paysim_client.types import CardInput, WebhookDeliveryState

VISA = CardInput(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123")
WANTED = ["payment.captured", "refund.succeeded"]


class Receiver(ThreadingHTTPServer):
    """Verifies each POST with the endpoint's secret, answers 2xx only to genuine ones, and
    queues each event once (deliveries are at least once: a repeat has the same event id)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.secret = ""  # known once the endpoint exists
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/paysim-webhooks"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))  # the raw bytes, unparsed
        try:
            webhooks.verify(body, self.headers.get("Paysim-Signature", ""), self.server.secret)
        except webhooks.SignatureVerificationError as error:
            print(f"  refused a request: {error.reason}")
            self.answer(400)
            return
        event = json.loads(body)
        with self.server.lock:
            first_time = self.headers["Paysim-Event-Id"] not in self.server.seen
            self.server.seen.add(self.headers["Paysim-Event-Id"])
        if first_time:
            self.server.events.put(event)
        self.answer(204)

    def answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


def main() -> int:
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    print(f"receiving on {receiver.url}")
    with paysim_client.Client.connect(target(), **credentials()) as client:
        made = client.webhooks.create(receiver.url, event_types=WANTED, description="receive_webhooks.py")
        endpoint = made.webhook_endpoint
        receiver.secret = made.secret  # shown this once: keep it where the receiver can read it
        print(f"endpoint {endpoint.id} for {', '.join(endpoint.event_types)} (secret {made.secret[:10]}…)")
        try:
            payment = client.payments.create(amount_minor=4200, currency_code="USD", card=VISA)
            client.payments.refund(payment.id, amount_minor=1200, reason="one item returned")

            # Deliveries are concurrent: they may arrive in any order (``sequence`` orders events).
            for _ in WANTED:
                event = receiver.events.get(timeout=30)
                obj = event["data"]["object"]  # the payment as of this event, as the API returns it
                print(
                    f"  verified {event['type']} {event['id']} (seq {event['sequence']}): {obj['id']} "
                    f"{obj['status']}, captured {obj['captured_amount_minor']}, refunded {obj['refunded_amount_minor']}"
                )

            # A request that paysim did not sign is refused by the same check.
            forged = http.client.HTTPConnection("127.0.0.1", receiver.server_address[1], timeout=10)
            unsigned = {"Paysim-Signature": f"t={int(time.time())},v1={'0' * 64}"}
            forged.request("POST", "/paysim-webhooks", b'{"type": "payment.captured"}', unsigned)
            status = forged.getresponse().status
            forged.close()
            assert status == 400, status
            print(f"  a forged request was answered {status}")

            # paysim's side of it: each delivery with its attempts.
            deadline = time.monotonic() + 20
            while True:
                deliveries = list(client.webhooks.list_deliveries(webhook_endpoint_id=endpoint.id))
                done = all(d.state == WebhookDeliveryState.WEBHOOK_DELIVERY_STATE_DELIVERED for d in deliveries)
                if (done and len(deliveries) == len(WANTED)) or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert done and len(deliveries) == len(WANTED), deliveries
            for delivery in deliveries:
                attempts = ", ".join(
                    f"#{a.number} HTTP {a.http_status} in {a.duration_ms} ms" for a in delivery.attempts
                )
                print(
                    f"  {delivery.id} {delivery.event_type}: {WebhookDeliveryState.Name(delivery.state)} ({attempts})"
                )
        finally:
            client.webhooks.delete(endpoint.id)
            receiver.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
