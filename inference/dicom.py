"""DICOM uploads: the scan a clinic's CD or download holds, as the same PIL image a PNG gives.

Privacy: only the tags needed to draw the image are parsed (`IMAGE_TAGS`); the patient,
study and device modules are never decoded, so no name, ID or date can reach a message,
a log line or a response. Messages here never quote a value from the file.
"""
from __future__ import annotations

import io
import logging
import warnings

import numpy as np
import pydicom
from PIL import Image
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, get_decoder, pixel_array

from inference.input_errors import InputError, check_size, unreadable_image
from inference.marks import N_
from inference.preprocessing import normalize_image

# A damaged upload is answered with a 400; pydicom's warnings and logged decoder tracebacks
# about it would only fill the server log, and its warnings can quote element values.
logging.getLogger("pydicom").setLevel(logging.CRITICAL)
warnings.filterwarnings("ignore", module=r"pydicom\.")

DICOM_MARKER_OFFSET = 128  # Part 10 files: a 128-byte preamble, then b"DICM"
# What the image needs, and nothing else (pydicom's `specific_tags`).
IMAGE_TAGS = [
    "PixelData", "FloatPixelData", "DoubleFloatPixelData", "Rows", "Columns", "SamplesPerPixel",
    "PhotometricInterpretation", "PlanarConfiguration", "BitsAllocated", "BitsStored", "HighBit",
    "PixelRepresentation", "NumberOfFrames", "RepresentativeFrameNumber", "RescaleSlope",
    "RescaleIntercept", "RescaleType", "ModalityLUTSequence", "WindowCenter", "WindowWidth",
    "VOILUTFunction", "VOILUTSequence", "SequenceOfUltrasoundRegions", "PixelPaddingValue",
    "RedPaletteColorLookupTableDescriptor", "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor", "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData", "BluePaletteColorLookupTableData",
    "SegmentedRedPaletteColorLookupTableData", "SegmentedGreenPaletteColorLookupTableData",
    "SegmentedBluePaletteColorLookupTableData", "ExtendedOffsetTable", "ExtendedOffsetTableLengths",
]
REGION_2D = 1  # RegionSpatialFormat: a 2D tissue image (others: M-mode, Doppler, waveform)
NO_IMAGE_MESSAGE = N_("This DICOM file holds no image (it may be a DICOMDIR index or a report). "
                      "Upload the image file of the scan itself.")


def is_dicom(data: bytes) -> bool:
    """A DICOM Part 10 file, as on a clinic's CD: b"DICM" after the 128-byte preamble."""
    return data[DICOM_MARKER_OFFSET:DICOM_MARKER_OFFSET + 4] == b"DICM"


def decode_dicom(data: bytes, max_pixels: int, min_side: int) -> Image.Image:
    """One frame of a DICOM file as an upright 8-bit "L" or "RGB" image, or an InputError.

    The frame is the one the modality marked representative, else the first; the
    photometric interpretation, modality LUT (rescale) and VOI LUT (window) are applied,
    and the image is cropped to its 2D ultrasound region when the file describes one.
    Any failure to read a file that says it is DICOM is a damaged file (400).
    """
    try:
        dataset = pydicom.dcmread(io.BytesIO(data), specific_tags=IMAGE_TAGS)
        if not any(name in dataset for name in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
            raise InputError(415, "unsupported_format", NO_IMAGE_MESSAGE) if _never_an_image(
                dataset) else unreadable_image()
        _check_decodable(dataset)
        check_size(int(dataset.Columns), int(dataset.Rows), max_pixels, min_side)
        image = _frame_image(dataset)
        image = image.crop(_ultrasound_region(dataset, image.size))
        check_size(*image.size, max_pixels, min_side)
        return normalize_image(image)
    except InputError:
        raise
    except Exception:  # noqa: BLE001 - pydicom and numpy raise many types on damaged data
        raise unreadable_image() from None


def _never_an_image(dataset) -> bool:
    """A DICOMDIR or a report never had pixels (415); an image whose pixels are missing, or
    a file whose kind cannot be read, was cut short (400). The file meta's SOP class says
    which, when pydicom knows it."""
    sop_class = dataset.file_meta.get("MediaStorageSOPClassUID")
    known = sop_class is not None and sop_class.name != str(sop_class)
    return known and "Image Storage" not in sop_class.name and "Rows" not in dataset


def _check_decodable(dataset) -> None:
    """415 when the pixel data is compressed in a way no installed decoder reads."""
    syntax = dataset.file_meta.get("TransferSyntaxUID")
    try:
        available = syntax is None or get_decoder(syntax).is_available
    except NotImplementedError:  # pydicom knows no decoder at all for this syntax
        available = False
    if not available:
        # pydicom's name for a syntax it knows; never the file's own text for one it does not.
        known = syntax.name != str(syntax)
        raise InputError(415, "unsupported_format",
                         "This DICOM file's image is compressed in a way we cannot read "
                         "(%(syntax)s). Export the scan uncompressed or as JPEG and upload it again.",
                         syntax=syntax.name if known else N_("an unknown transfer syntax"))


def _frame_image(dataset) -> Image.Image:
    """The chosen frame with its photometric interpretation and LUTs applied."""
    frames = int(dataset.get("NumberOfFrames") or 1)
    chosen = int(dataset.get("RepresentativeFrameNumber") or 1)  # 1-based
    index = chosen - 1 if 1 <= chosen <= frames else 0
    pixels = pixel_array(dataset, index=index, decoding_plugin=_plugin(dataset))  # YBR -> RGB here
    photometric = str(dataset.get("PhotometricInterpretation", "")).strip()
    if photometric == "PALETTE COLOR":
        pixels = apply_color_lut(pixels, dataset)
    if pixels.ndim == 3:
        return _to_8bit_rgb(pixels)
    pixels = apply_voi_lut(apply_modality_lut(pixels, dataset), dataset)
    if photometric == "MONOCHROME1":  # 0 is white: flip so that bright tissue is bright
        pixels = (255 - pixels) if _is_8bit(pixels) else -pixels.astype(np.float64)
    if _is_8bit(pixels):
        return Image.fromarray(pixels.astype(np.uint8), "L")
    # Wider or rescaled values: an "F" image, which normalize_image stretches by its own range.
    return Image.fromarray(pixels.astype(np.float32), "F")


def _plugin(dataset) -> str:
    """Pillow where it can (JPEG baseline and extended, JPEG 2000): the decoder a JPEG upload
    goes through, so a scan gives the same pixels either way; else pydicom's choice."""
    decoder = get_decoder(dataset.file_meta.TransferSyntaxUID)
    return "pillow" if "pillow" in decoder.available_plugins else ""


def _is_8bit(pixels: np.ndarray) -> bool:
    return pixels.dtype.kind in "ui" and pixels.size > 0 and 0 <= pixels.min() and pixels.max() <= 255


def _to_8bit_rgb(pixels: np.ndarray) -> Image.Image:
    """Colour pixels (RGB after pydicom's conversion, or a palette's 16-bit RGB) as 8-bit RGB."""
    if pixels.shape[-1] != 3:
        raise ValueError("colour DICOM image without three samples per pixel")
    if pixels.dtype != np.uint8:
        top = float(pixels.max()) or 1.0
        pixels = (pixels.astype(np.float64) * (255.0 / max(top, 255.0))).round().astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(pixels), "RGB")


def _ultrasound_region(dataset, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the largest 2D ultrasound region, or the whole frame.

    Ultrasound files describe where the image of tissue lies (SequenceOfUltrasoundRegions);
    the rest of the frame is text, scales and logos the models never saw in training. A
    region that does not fit the frame is ignored.
    """
    width, height = size
    best, best_area = (0, 0, width, height), 0
    for region in dataset.get("SequenceOfUltrasoundRegions", []):
        try:
            if int(region.get("RegionSpatialFormat", -1)) != REGION_2D:
                continue
            box = (int(region.RegionLocationMinX0), int(region.RegionLocationMinY0),
                   int(region.RegionLocationMaxX1) + 1, int(region.RegionLocationMaxY1) + 1)
        except (AttributeError, TypeError, ValueError):
            continue
        area = (box[2] - box[0]) * (box[3] - box[1])
        if 0 <= box[0] < box[2] <= width and 0 <= box[1] < box[3] <= height and area > best_area:
            best, best_area = box, area
    return best
