"""DICOM files built from BUSI scans with pydicom, as a clinic's CD would hold them.

Every file carries a made-up patient (`PATIENT_SECRETS`) that must appear in no answer,
page or log.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
    generate_uid,
)

PATIENT_NAME = "Quixote^Dulcinea^Zyx"
PATIENT_ID = "MRN-77341-FAKE"
PATIENT_BIRTH = "19510413"
INSTITUTION = "Hospital Imaginario Tobosofake"
PATIENT_SECRETS = ("Quixote", "Dulcinea", PATIENT_ID, "77341", PATIENT_BIRTH, "Tobosofake", "Imaginario")


def dicom_bytes(pixels: np.ndarray, *, sop_class=UltrasoundImageStorage, jpeg: bool = False,
                photometric: str | None = None, frames: list[np.ndarray] | None = None,
                regions: list[tuple[int, int, int, int]] | None = None, **elements) -> bytes:
    """A Part 10 file holding `pixels` (H, W) or (H, W, 3) uint8, or several `frames` of them."""
    frames = frames if frames is not None else [pixels]
    first = frames[0]
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit if jpeg else ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "US" if sop_class != SecondaryCaptureImageStorage else "OT"
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = PATIENT_NAME, PATIENT_ID, PATIENT_BIRTH
    ds.InstitutionName = INSTITUTION
    ds.Rows, ds.Columns = first.shape[:2]
    colour = first.ndim == 3
    ds.SamplesPerPixel = 3 if colour else 1
    if colour:
        ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = photometric or (
        ("YBR_FULL_422" if jpeg else "RGB") if colour else "MONOCHROME2")
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if len(frames) > 1:
        ds.NumberOfFrames = len(frames)
    if regions:
        ds.SequenceOfUltrasoundRegions = Sequence([_region(box) for box in regions])
    if jpeg:
        ds.PixelData = encapsulate([_jpeg(frame) for frame in frames])
        ds["PixelData"].VR = "OB"
        ds.LossyImageCompression = "01"
    else:
        ds.PixelData = np.stack(frames).tobytes()
    for name, value in elements.items():  # last, so that they can replace anything above
        setattr(ds, name, value)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _region(box: tuple[int, int, int, int]) -> Dataset:
    region = Dataset()
    region.RegionSpatialFormat, region.RegionDataType, region.RegionFlags = 1, 1, 0
    (region.RegionLocationMinX0, region.RegionLocationMinY0,
     region.RegionLocationMaxX1, region.RegionLocationMaxY1) = box
    return region


def _jpeg(frame: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    # Colour as Y'CbCr 4:2:2 would be YBR_FULL_422; keep it simple and exact for grey.
    Image.fromarray(frame).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def gray_of(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def us_multiframe(frames: list[np.ndarray], **elements) -> bytes:
    return dicom_bytes(frames[0], sop_class=UltrasoundMultiFrameImageStorage, frames=frames, **elements)
