import uuid

import httpx
import pytest
import respx

VALID_ORDER = {
    "lines": [{"sku": "MUG-BLUE-350", "quantity": 2}],
    "shipping_address": {
        "name": "Ada Lovelace",
        "street": "12 St James's Square",
        "postal_code": "SW1Y 4JH",
        "city": "London",
        "country": "GB",
    },
    "payment_method": "card",
    "payment_token": "tok_visa_4242",
    "currency": "GBP",
}


def test_orders_require_a_token(client):
    assert client.get("/orders").status_code == 401
    assert client.post("/orders", json=VALID_ORDER).status_code in (401, 422)


@pytest.mark.parametrize(
    "patch",
    [
        {"lines": []},
        {"lines": [{"sku": "mug; DROP TABLE orders", "quantity": 1}]},
        {"lines": [{"sku": "MUG-BLUE-350", "quantity": 1000}]},
        {"currency": "BTC"},
        {"unexpected": "field"},
    ],
)
def test_invalid_orders_are_rejected(client, customer_token, patch):
    body = {**VALID_ORDER, **patch}
    response = client.post("/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 422


@respx.mock
def test_place_order_and_list_it(client, customer_token):
    respx.post("https://payments.test/v1/charges").mock(
        return_value=httpx.Response(200, json={"id": "ch_123"})
    )
    key = uuid.uuid4().hex
    created = client.post("/orders", json=VALID_ORDER, headers={"Idempotency-Key": key})
    assert created.status_code == 201
    assert created.json()["status"] == "paid"

    duplicate = client.post("/orders", json=VALID_ORDER, headers={"Idempotency-Key": key})
    assert duplicate.status_code == 409

    page = client.get("/orders", params={"limit": 1}).json()
    assert page["items"][0]["id"] == created.json()["id"]


def test_pagination_limit_is_bounded(client, customer_token):
    assert client.get("/orders", params={"limit": 500}).status_code == 422


def test_other_customers_orders_are_invisible(client, customer_token):
    response = client.get(f"/orders/{uuid.uuid4()}")
    assert response.status_code == 404
