"""The upload and result pages, and the page a person sees after each kind of bad upload."""
from __future__ import annotations

import html
import re

import pytest

from tests.helpers import SCANS
from tests.helpers.uploads import BAD_UPLOADS


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
    assert len(re.findall(r'class="probability-value">(?:&lt;1|\d{1,3})%', page)) == 3
    assert 'id="next-steps"' in page
    assert " style=" not in page


def test_result_page_says_when_the_model_is_uncertain(submit_form, app, force_probabilities):
    force_probabilities({"benign": 0.6, "malignant": 0.15, "normal": 0.25})
    assert "The model is uncertain" not in submit_form(SCANS["benign"].read_bytes()).get_data(as_text=True)
    force_probabilities({"benign": 0.59, "malignant": 0.15, "normal": 0.26})
    page = html.unescape(submit_form(SCANS["benign"].read_bytes()).get_data(as_text=True))
    assert "The model is uncertain about this scan: no answer reached 60%" in page
    assert re.search(r'class="probability-value">59%', page)


def test_flagged_result_names_the_most_likely_class_and_the_flag_before_the_scan(app, submit_form,
                                                                                 force_probabilities):
    threshold = app.extensions["pipeline"].settings.malignant_threshold
    malignant = round(threshold + 0.02, 2)  # flagged, yet benign stays the most probable class
    force_probabilities({"benign": 0.97 - malignant, "malignant": malignant, "normal": 0.03})
    page = html.unescape(submit_form(SCANS["benign"].read_bytes()).get_data(as_text=True))
    headline = re.search(r'<h2 id="headline">([^<]+)</h2>', page).group(1)
    assert headline == "Most likely benign (not cancer), but flagged for a doctor's review"
    assert "Most likely:" not in page  # the headline says it once
    flag = page.index(f"a {round(100 * threshold)}% chance of cancer is enough to check, and the model "
                      f"estimates {round(100 * malignant)}% for this scan")
    assert flag < page.index('id="overlay"')
    assert 'class="card result result-malignant"' in page  # the reported label stays malignant
    stated = app.extensions["public_summary"]
    assert f"right about {round(100 * stated.accuracy)} times in 100" in page  # the bundled card's test accuracy


def test_normal_result_never_soothes(app, submit_form, force_probabilities):
    force_probabilities({"benign": 0.05, "malignant": 0.05, "normal": 0.90})
    page = html.unescape(submit_form(SCANS["normal"].read_bytes()).get_data(as_text=True))
    missed = round(100 * app.extensions["public_summary"].lesions_called_normal)  # the card's test rate
    assert "Most likely normal" in page and f"about {missed} times in 100" in page
    assert "felt or seen" in page
    assert "reassur" not in page.lower() and "screening schedule" not in page


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")  # as inference.imaging sets it
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
