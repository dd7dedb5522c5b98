"""The BUSI loader and the group-aware split, on a synthetic Kaggle-layout tree."""
import json

import numpy as np
import pytest
from PIL import Image

from tests.helpers import require_busi
from tests.helpers.synthetic_busi import make_tree
from training import data


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("busi"))


def test_finds_every_image_with_its_masks(tree):
    samples = data.find_samples(tree)
    assert len(samples) == 21
    by_key = {s.key: s for s in samples}
    masks = by_key["benign/benign (1).png"].mask_paths
    assert [p.name for p in masks] == ["benign (1)_mask.png", "benign (1)_mask_1.png"]
    assert all(s.label == s.key.split("/")[0] for s in samples)
    assert not any("_mask" in s.key for s in samples)


def test_masks_are_unioned(tree):
    sample = next(s for s in data.find_samples(tree) if s.key == "benign/benign (1).png")
    image = data.load_image(sample)
    union = data.load_mask(sample, image.shape)
    parts = [np.asarray(Image.open(p)) > 127 for p in sample.mask_paths]
    assert union.sum() == (parts[0] | parts[1]).sum() > parts[0].sum() > 0


def test_rgb_and_grayscale_load_alike(tree):
    sample = next(s for s in data.find_samples(tree) if s.key == "benign/benign (2).png")
    assert Image.open(sample.image_path).mode == "RGB"
    image = data.load_image(sample)
    assert image.dtype == np.uint8 and image.ndim == 2 and image.shape == (72, 96)


def test_missing_class_folder_is_a_clear_error(tmp_path):
    (tmp_path / "benign").mkdir()
    with pytest.raises(FileNotFoundError, match="malignant"):
        data.find_samples(tmp_path)


def test_near_duplicates_are_grouped_and_kept_on_one_side(tree, tmp_path):
    # a resized copy of malignant (2) should join its group too
    mal = tree / "malignant"
    Image.open(mal / "malignant (2).png").resize((120, 90)).save(tmp_path / "copy.png")
    (mal / "malignant (8).png").write_bytes((tmp_path / "copy.png").read_bytes())
    Image.open(mal / "malignant (2)_mask.png").resize((120, 90)).save(mal / "malignant (8)_mask.png")
    try:
        for seed in range(5):
            manifest = data.build_manifest(tree, seed)
            rows = {r["key"]: r for r in manifest["images"]}
            for a, b in [("benign/benign (3).png", "benign/benign (4).png"),
                         ("malignant/malignant (2).png", "malignant/malignant (8).png")]:
                assert rows[a]["group"] == rows[b]["group"]
                assert rows[a]["split"] == rows[b]["split"]
            assert {r["split"] for r in rows.values()} == {"train", "val", "test"}
    finally:
        (mal / "malignant (8).png").unlink()
        (mal / "malignant (8)_mask.png").unlink()


def test_cross_class_duplicates_are_excluded(tree):
    groups = [["benign/benign (5).png", "normal/normal (5).png"]]
    manifest = data.build_manifest(tree, 0)
    labels = {r["key"]: r["label"] for r in manifest["images"]}
    images = manifest["images"]
    detected = [[r["key"] for r in images if r["group"] == g] for g in {r["group"] for r in images}]
    merged = data.merge_groups(detected, groups)
    split = data.split_groups(merged, labels, 0)
    assert split["benign/benign (5).png"] == split["normal/normal (5).png"] == "excluded"
    assert list(split.values()).count("excluded") == 2


def test_split_is_stratified_and_reproducible(tree):
    first, second = data.build_manifest(tree, 7), data.build_manifest(tree, 7)
    assert data.manifest_hash(first) == data.manifest_hash(second)
    for split in ("val", "test"):
        assert set(first["counts"][split]) == {"benign", "malignant", "normal"}


def test_committed_manifest_keeps_known_duplicate_groups_together():
    """The bundled models' split: no curated duplicate group straddles two splits."""
    from training.sources import manifest_path

    manifest = json.loads(manifest_path("busi").read_text())
    split = {r["key"]: r["split"] for r in manifest["images"]}
    known = require_busi().parent / "duplicate_groups.json"
    for group in json.loads(known.read_text()):
        assert len({split[k] for k in group}) == 1, group


def test_busbra_layout_is_recognised_and_its_cases_stay_on_one_side(tmp_path):
    from tests.helpers.synthetic_busi import make_busbra_tree

    root = make_busbra_tree(tmp_path / "busbra", cases=20)
    assert data.source_name(root) == "busbra" and data.source_name(tmp_path) == "busi"
    samples = data.find_samples(root)
    assert len(samples) == 40 and {s.label for s in samples} == {"benign", "malignant"}
    assert all(len(s.mask_paths) == 1 and s.mask_paths[0].exists() for s in samples)
    for seed in range(3):
        manifest = data.build_manifest(root, seed)
        assert manifest["source"] == "busbra"
        split_of_case = {}
        for row, sample in zip(manifest["images"], samples, strict=True):
            assert row["key"] == sample.key
            split_of_case.setdefault(sample.case, set()).add(row["split"])
        assert all(len(splits) == 1 for splits in split_of_case.values())
        assert {"train", "val", "test"} <= {r["split"] for r in manifest["images"]}


def test_busbra_row_without_its_files_is_a_clear_error(tmp_path):
    from tests.helpers.synthetic_busi import make_busbra_tree

    root = make_busbra_tree(tmp_path / "busbra", cases=2)
    (root / "Masks" / "mask_0002-r.png").unlink()
    with pytest.raises(FileNotFoundError, match="mask_0002-r.png"):
        data.find_samples(root)


def test_committed_busbra_manifest_keeps_every_case_on_one_side():
    """The bundled models' BUS-BRA split is by case, as the data set's README asks."""
    import csv

    from tests.helpers import require_busbra
    from training.sources import manifest_path

    manifest = json.loads(manifest_path("busbra").read_text())
    split = {r["key"]: r["split"] for r in manifest["images"]}
    table = require_busbra() / "bus_data.csv"
    cases = {}
    with table.open() as f:
        for row in csv.DictReader(f):
            cases.setdefault(row["Case"], set()).add(split[f"Images/{row['ID']}.png"])
    assert len(cases) > 700 and all(len(s) == 1 for s in cases.values())
