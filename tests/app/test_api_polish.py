"""The API's own description is served, and probabilities carry 4 decimals."""
from __future__ import annotations

import yaml

from tests.helpers import SCANS


def test_openapi_document_is_served_and_describes_the_routes(client):
    response = client.get("/api/v1/openapi.yaml")
    assert response.status_code == 200 and response.mimetype == "application/yaml"
    document = yaml.safe_load(response.get_data(as_text=True))
    assert document["openapi"].startswith("3.1")
    for route in ("/api/v1/predict", "/api/v1/centres", "/healthz", "/api/v1/openapi.yaml"):
        assert route in document["paths"]


def test_probabilities_are_rounded_to_4_decimals(post_api):
    probabilities = post_api(SCANS["benign"].read_bytes()).get_json()["probabilities"]
    assert all(round(value, 4) == value for value in probabilities.values())
    assert any(len(repr(value).split(".")[-1]) > 1 for value in probabilities.values())  # not coarser
