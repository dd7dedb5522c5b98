"""No upload gets a 5xx: seeded truncations and byte flips of real files of every accepted format.

The rule under test (docs/serving.md): a file without an accepted signature is a 415; a
file with one that fails to decode, however it fails, is a 400 `unreadable_image`.
"""
from __future__ import annotations

import random

import pytest

from tests.helpers import SCANS
from tests.helpers.dicom_files import dicom_bytes, gray_of
from tests.helpers.uploads import encode, scan

SEED = 20261201
TRUNCATIONS_PER_FORMAT = 30
FLIPS_PER_FORMAT = 36
# Bytes a file must keep for its format to be recognised (DICOM: preamble + b"DICM").
SIGNATURE_LENGTH = {"PNG": 8, "JPEG": 3, "BMP": 2, "TIFF": 4, "WebP": 12, "DICOM": 132, "DICOM JPEG": 132}
ANSWERS = {200, 400, 413, 415, 422}
LEAK_MARKERS = ("Traceback", 'File "', "Error:", "Exception", "pydicom", "PIL.")


def base_files() -> dict[str, bytes]:
    gray = gray_of(SCANS["malignant"])
    return {
        "PNG": SCANS["malignant"].read_bytes(),
        "JPEG": encode(scan(), "JPEG", quality=90),
        "BMP": encode(scan(), "BMP"),
        "TIFF": encode(scan(), "TIFF"),
        "WebP": encode(scan(), "WEBP", quality=80),
        "DICOM": dicom_bytes(gray),
        "DICOM JPEG": dicom_bytes(gray, jpeg=True),
    }


def fuzz_cases() -> list[tuple[str, str, bytes, int | None]]:
    """(format, description, bytes, expected status or None when any answer but 5xx will do)."""
    rng = random.Random(SEED)
    cases = []
    for fmt, data in base_files().items():
        header = min(len(data), 2048 if fmt.startswith("DICOM") else 1024)
        lengths = {rng.randrange(1, header) for _ in range(TRUNCATIONS_PER_FORMAT - 3)}
        lengths |= {len(data) // 4, len(data) // 2, len(data) * 9 // 10}
        for length in sorted(lengths):
            expected = 400 if length >= SIGNATURE_LENGTH[fmt] else 415
            cases.append((fmt, f"cut to {length} of {len(data)} bytes", data[:length], expected))
        for _ in range(FLIPS_PER_FORMAT):
            damaged = bytearray(data)
            positions = [rng.randrange(header) for _ in range(rng.choice((1, 1, 2, 4)))]
            for position in positions:
                damaged[position] ^= rng.randrange(1, 256)
            cases.append((fmt, f"bytes flipped at {positions}", bytes(damaged), None))
    return cases


CASES = fuzz_cases()


def test_the_fuzz_run_is_several_hundred_cases_of_every_format():
    assert len(CASES) >= 400
    assert {fmt for fmt, *_ in CASES} == set(SIGNATURE_LENGTH)


def test_the_first_200_bytes_of_a_jpeg_are_a_damaged_file(post_api):
    response = post_api(base_files()["JPEG"][:200], filename="scan.jpg")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "unreadable_image"
    assert "damaged or incomplete" in response.get_json()["error"]["message"]


@pytest.mark.slow
def test_no_damaged_upload_gets_a_5xx_or_a_trace_from_the_api(post_api):
    failures, statuses = [], {}
    for fmt, description, data, expected in CASES:
        response = post_api(data)
        status = response.status_code
        statuses[status] = statuses.get(status, 0) + 1
        body = response.get_data(as_text=True)
        problem = None
        if status not in ANSWERS or (expected is not None and status != expected):
            problem = f"status {status}, expected {expected or ANSWERS}"
        elif status != 200 and set(response.get_json()["error"]) != {"code", "message"}:
            problem = f"error body {body[:200]}"
        elif any(marker in body for marker in LEAK_MARKERS):
            problem = f"internal detail in {body[:200]}"
        if problem:
            failures.append(f"{fmt} {description}: {problem}")
    assert not failures, "\n".join(failures[:20])
    assert statuses.get(400, 0) > len(CASES) // 4 and statuses.get(200, 0) > 0  # both outcomes exercised


@pytest.mark.slow
@pytest.mark.parametrize("fmt", sorted(SIGNATURE_LENGTH))
def test_no_damaged_upload_gets_a_5xx_or_a_trace_on_the_page(submit_form, fmt):
    """Every third case of each format through the HTML form: the form comes back with a message."""
    for _, description, data, _ in [case for case in CASES if case[0] == fmt][::3]:
        response = submit_form(data)
        page = response.get_data(as_text=True)
        assert response.status_code in ANSWERS, f"{fmt} {description}: {response.status_code}"
        assert "Traceback" not in page and "something went wrong" not in page.lower(), f"{fmt} {description}"
        if response.status_code == 400:
            assert "damaged or incomplete" in page, f"{fmt} {description}"
