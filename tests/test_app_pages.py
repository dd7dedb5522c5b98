"""The upload and result pages, and the page a person sees after each kind of bad upload."""
from __future__ import annotations

import html
import re

import pytest

from conftest import SCANS
from upload_samples import BAD_UPLOADS


def test_upload_page_has_labelled_controls_and_no_inline_script(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for control in ("scan-file", "location"):
        assert f'<label for="{control}"' in page
    assert 'name="image"' in page and 'enctype="multipart/form-data"' in page
    assert "not stored" in page  # why location is asked, and what happens to it
    assert 'id="use-location"' in page and 'name="latitude"' in page and 'name="longitude"' in page
    assert 'id="progress"' in page
    assert "This is not a diagnosis" in page
    assert not re.search(r"<script(?![^>]*\ssrc=)", page), "inline <script> would break the CSP"
    assert " style=" not in page and "<style" not in page


@pytest.mark.parametrize("kind", ["benign", "malignant", "normal", "benign_colour_marks"])
def test_result_page(submit_form, kind):
    response = submit_form(SCANS[kind].read_bytes())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    label = re.search(r'class="card result result-(\w+)"', page).group(1)
    assert label in ("benign", "malignant", "normal")
    assert "This is not a diagnosis." in page
    assert re.search(r'<img id="overlay" src="data:image/png;base64,[A-Za-z0-9+/=]+"', page)
    assert len(re.findall(r"<meter ", page)) == 3
    assert len(re.findall(r'class="probability-value">(?:&lt;1|\d{1,3})&nbsp;%', page)) == 3
    assert 'id="next-steps"' in page
    assert " style=" not in page


def test_result_page_says_when_the_model_is_uncertain(submit_form, app, monkeypatch):
    from inference.pipeline import Decision, Pipeline

    real_predict = Pipeline.predict

    def flat_predict(self, image):
        prediction = real_predict(self, image)
        prediction.probabilities = {"benign": 0.4, "malignant": 0.35, "normal": 0.25}
        prediction.decision = Decision("benign", "benign", malignant_flagged=False)
        return prediction

    monkeypatch.setattr(Pipeline, "predict", flat_predict)
    page = submit_form(SCANS["benign"].read_bytes()).get_data(as_text=True)
    assert "The model is uncertain about this scan" in page
    assert re.search(r'class="probability-value">40&nbsp;%', page)


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")  # as app.imaging sets it
@pytest.mark.parametrize("name", BAD_UPLOADS)
def test_bad_uploads_show_the_form_again_with_the_problem(submit_form, name):
    make, status, _, words = BAD_UPLOADS[name]
    response = submit_form(make())
    assert response.status_code == status
    page = html.unescape(response.get_data(as_text=True))
    assert 'role="alert" id="upload-error"' in page
    assert words in page
    assert 'id="upload-form"' in page
    assert "Traceback" not in page


def test_form_without_file(submit_form):
    response = submit_form(None)
    assert response.status_code == 400
    assert "No scan was uploaded" in response.get_data(as_text=True)


def test_form_over_size_limit_states_the_limit(submit_form, app):
    response = submit_form(b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert response.status_code == 413
    assert "the limit is 10 MB" in response.get_data(as_text=True)


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert 'role="alert"' in response.get_data(as_text=True)


def test_unexpected_failure_is_a_plain_500(broken_pipeline, submit_form):
    response = submit_form(SCANS["normal"].read_bytes())
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in page
    assert "internal detail" not in page and "Traceback" not in page
