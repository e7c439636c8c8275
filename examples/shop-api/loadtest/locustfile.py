"""Load test for shop-api.

    locust -f loadtest/locustfile.py --host https://staging.shop.example.com \
        --users 600 --spawn-rate 20 --run-time 30m --headless --csv loadtest/results/<date>

Needs SHOP_LOADTEST_TOKENS: a file with one access token per line for the
synthetic load-test customers (created by scripts in the staging account).
Orders use the payment provider's sandbox test tokens only.
"""

from __future__ import annotations

import os
import random
import uuid

from locust import HttpUser, between, task

TOKENS = open(os.environ["SHOP_LOADTEST_TOKENS"]).read().split()
SKUS = ["MUG-BLUE-350", "MUG-RED-350", "TEE-BLK-M", "TEE-WHT-L", "CAP-GRY-OS", "BAG-CNV-01"]


class Customer(HttpUser):
    wait_time = between(1, 4)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {random.choice(TOKENS)}"
        self.order_ids: list[str] = []

    @task(7)
    def list_orders(self) -> None:
        response = self.client.get("/orders?limit=20", name="GET /orders")
        if response.ok:
            self.order_ids = [o["id"] for o in response.json()["items"]][:10]

    @task(2)
    def get_order(self) -> None:
        if self.order_ids:
            self.client.get(f"/orders/{random.choice(self.order_ids)}", name="GET /orders/{id}")

    @task(1)
    def place_order(self) -> None:
        body = {
            "lines": [{"sku": random.choice(SKUS), "quantity": random.randint(1, 3)}],
            "shipping_address": {
                "name": "Load Test",
                "street": "1 Test Street",
                "postal_code": "10115",
                "city": "Berlin",
                "country": "DE",
            },
            "payment_method": "card",
            "payment_token": "tok_sandbox_visa",
            "currency": "EUR",
        }
        self.client.post(
            "/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}, name="POST /orders"
        )
