def test_healthz_is_dependency_free(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_postgres_and_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["postgres"] == "ok"


def test_security_headers_on_every_response(client):
    response = client.get("/healthz")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_metrics_exposes_business_counter(client):
    body = client.get("/metrics").text
    assert "orders_placed_total" in body
    assert "http_request_duration_seconds_bucket" in body
