"""DICOM uploads: decoded like a PNG of the same scan, and the patient in the file never shows."""
from __future__ import annotations

import io
import logging

import numpy as np
import pytest
from PIL import Image
from pydicom.uid import SecondaryCaptureImageStorage

from inference.imaging import decode_upload
from inference.input_errors import InputError
from tests.helpers import SCANS
from tests.helpers.dicom_files import PATIENT_SECRETS, dicom_bytes, gray_of, us_multiframe

GRAY = gray_of(SCANS["malignant"])
LIMITS = (16_000_000, 64)


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(decode_upload(data, *LIMITS))


@pytest.mark.parametrize("sop_class", ["US", "SC"])
def test_uncompressed_dicom_gives_the_scan_pixel_for_pixel(sop_class):
    kind = {"SC": {"sop_class": SecondaryCaptureImageStorage}, "US": {}}[sop_class]
    image = decode_upload(dicom_bytes(GRAY, **kind), *LIMITS)
    assert image.mode == "L" and np.array_equal(np.asarray(image), GRAY)


def test_jpeg_baseline_dicom_gives_what_the_jpeg_itself_gives():
    data = dicom_bytes(GRAY, jpeg=True)
    jpeg = io.BytesIO()
    Image.fromarray(GRAY).save(jpeg, "JPEG", quality=95)
    assert np.array_equal(decoded(data), decoded(jpeg.getvalue()))


def test_rle_compressed_dicom_gives_the_scan_pixel_for_pixel():
    import pydicom
    from pydicom.uid import RLELossless

    dataset = pydicom.dcmread(io.BytesIO(dicom_bytes(GRAY)))
    dataset.compress(RLELossless)  # pydicom's own RLE encoder and decoder
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    assert np.array_equal(decoded(buffer.getvalue()), GRAY)


def test_colour_dicom_is_rgb_uncompressed_and_as_jpeg_ybr():
    rgb = np.stack([GRAY, GRAY, np.maximum(GRAY, 40)], axis=-1)
    assert np.array_equal(decoded(dicom_bytes(rgb)), rgb)
    from_jpeg = decoded(dicom_bytes(rgb, jpeg=True))  # stored as YBR_FULL_422, converted back to RGB
    assert from_jpeg.shape == rgb.shape and np.abs(from_jpeg.astype(int) - rgb).mean() < 2


def test_cine_loop_gives_the_representative_frame_else_the_first():
    frames = [GRAY, 255 - GRAY, GRAY // 2]
    assert np.array_equal(decoded(us_multiframe(frames)), GRAY)
    assert np.array_equal(decoded(us_multiframe(frames, RepresentativeFrameNumber=2)), 255 - GRAY)
    assert np.array_equal(decoded(us_multiframe(frames, RepresentativeFrameNumber=9)), GRAY)  # out of range


def test_ultrasound_region_crops_away_the_frame_around_the_image():
    height, width = GRAY.shape
    frame = np.full((height + 120, width + 200), 30, np.uint8)
    frame[:40, :] = 255  # a text banner the models never saw
    frame[60:60 + height, 90:90 + width] = GRAY
    doppler_strip = (0, 0, 20, 20)  # a small second region; the largest 2D one wins
    data = dicom_bytes(frame, regions=[doppler_strip, (90, 60, 90 + width - 1, 60 + height - 1)])
    assert np.array_equal(decoded(data), GRAY)
    outside = dicom_bytes(frame, regions=[(90, 60, 90 + width + 500, 60 + height)])
    assert decoded(outside).shape == frame.shape  # a region that does not fit is ignored


def test_monochrome1_is_inverted_and_rescale_is_applied():
    assert np.array_equal(decoded(dicom_bytes(255 - GRAY, photometric="MONOCHROME1")), GRAY)
    wide = GRAY.astype(np.uint16) * 10 + 1000  # 12-bit values
    data = dicom_bytes(GRAY, PixelData=wide.tobytes(), BitsAllocated=16, BitsStored=12, HighBit=11,
                       RescaleSlope=2, RescaleIntercept=-500)
    stretched = decoded(data).astype(int)  # stretched by its own range, like a 16-bit PNG
    expected = np.round((GRAY.astype(float) - GRAY.min()) * 255 / (GRAY.max() - GRAY.min()))
    assert np.abs(stretched - expected).max() <= 1


@pytest.mark.parametrize("change, status, code", [
    ({"Rows": 5000, "Columns": 5000}, 413, "image_too_large"),  # from the header, nothing decoded
    ({"Rows": 40, "Columns": 40, "PixelData": bytes(1600)}, 400, "image_too_small"),
    ({"PixelData": b"\x00" * 100}, 400, "unreadable_image"),  # pixels cut short
])
def test_bad_dicom_images_get_clear_answers(change, status, code):
    with pytest.raises(InputError) as raised:
        decode_upload(dicom_bytes(GRAY, **change), *LIMITS)
    assert (raised.value.status, raised.value.code) == (status, code)


def test_dicom_without_an_image_or_with_unreadable_compression_is_415():
    import pydicom

    no_pixels = pydicom.dcmread(io.BytesIO(dicom_bytes(GRAY)))
    for name in ("PixelData", "Rows", "Columns"):
        del no_pixels[name]
    no_pixels.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"  # Basic Text SR
    mpeg = pydicom.dcmread(io.BytesIO(dicom_bytes(GRAY, jpeg=True)))
    mpeg.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2 video
    for dataset, words in ((no_pixels, "holds no image"), (mpeg, "MPEG2")):
        buffer = io.BytesIO()
        dataset.save_as(buffer)
        with pytest.raises(InputError) as raised:
            decode_upload(buffer.getvalue(), *LIMITS)
        assert raised.value.status == 415 and words in raised.value.message


def test_dicom_and_png_of_a_scan_get_the_same_answer(post_api):
    png = post_api(SCANS["malignant"].read_bytes()).get_json()
    for kind in ({}, {"sop_class": SecondaryCaptureImageStorage}):
        dicom = post_api(dicom_bytes(GRAY, **kind), filename="IM000001").get_json()
        assert dicom["label"] == png["label"]
        for name, probability in png["probabilities"].items():
            assert dicom["probabilities"][name] == pytest.approx(probability, abs=1e-3)


def test_the_patient_in_a_dicom_file_appears_in_no_answer_page_or_log(post_api, submit_form, caplog):
    good = dicom_bytes(GRAY, jpeg=True)
    damaged = [good[:len(good) // 2], good[:400], good[:900] + bytes(50) + good[950:]]
    with caplog.at_level(logging.DEBUG):
        answers = [post_api(data, filename="IM000001") for data in (good, *damaged)]
        answers += [submit_form(data, filename="IM000001") for data in (good, *damaged)]
    assert [r.status_code for r in answers][:3] == [200, 400, 400]  # cut short: damaged
    assert all(r.status_code < 500 for r in answers)
    seen = "\n".join(r.get_data(as_text=True) + str(r.headers) for r in answers) + caplog.text
    assert PATIENT_SECRETS[0] in good.decode("latin-1")  # the secret is really in the file
    for secret in PATIENT_SECRETS:
        assert secret not in seen
