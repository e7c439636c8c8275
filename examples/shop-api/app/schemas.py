"""Request and response models; every request body is validated here."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, constr


class PaymentMethod(StrEnum):
    CARD = "card"
    PAYPAL = "paypal"
    INVOICE = "invoice"


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


Sku = constr(pattern=r"^[A-Z0-9][A-Z0-9-]{2,31}$")
CountryCode = constr(pattern=r"^[A-Z]{2}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrderLineIn(_Strict):
    sku: Sku  # type: ignore[valid-type]
    quantity: int = Field(ge=1, le=99)


class AddressIn(_Strict):
    name: str = Field(min_length=1, max_length=120)
    street: str = Field(min_length=1, max_length=200)
    postal_code: str = Field(min_length=2, max_length=12, pattern=r"^[A-Za-z0-9 -]+$")
    city: str = Field(min_length=1, max_length=100)
    country: CountryCode  # type: ignore[valid-type]


class OrderCreate(_Strict):
    lines: list[OrderLineIn] = Field(min_length=1, max_length=50)
    shipping_address: AddressIn
    payment_method: PaymentMethod
    payment_token: str = Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_]+$")
    currency: str = Field(default="EUR", pattern=r"^(EUR|GBP|CHF)$")
    coupon_code: str | None = Field(default=None, max_length=32, pattern=r"^[A-Z0-9]+$")


class OrderLineOut(BaseModel):
    sku: str
    quantity: int
    unit_price: Decimal


class OrderOut(BaseModel):
    id: UUID
    status: OrderStatus
    currency: str
    total: Decimal
    lines: list[OrderLineOut]
    created_at: dt.datetime


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None = None
