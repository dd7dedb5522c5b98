"""The UNet benchmark scores the served mask steps per source, at each scan's own size."""
from dataclasses import replace

import numpy as np
import pytest

from experiments.unet_recipe import score
from inference.settings import InferenceSettings
from tests.helpers.splits import split_data

pytestmark = pytest.mark.slow  # imports TensorFlow (training.train)

SETTINGS = InferenceSettings()


def test_each_source_is_scored_on_its_own_scans_at_their_size():
    """A fake UNet that outlines the centre of every scan: Dice 1 where the lesion is the centre,
    0 where it is elsewhere; the normal scan is given a lesion."""
    size = SETTINGS.unet_size

    def centre_unet(batch):
        probability = np.zeros((size, size, 1), np.float32)
        probability[size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 1.0
        return probability

    centre, corner = np.zeros((80, 120), bool), np.zeros((80, 120), bool)
    centre[20:60, 30:90] = True
    corner[:10, :10] = True
    images = [np.full((80, 120), 100, np.uint8)] * 3
    squares = np.zeros((3, 4, 4), np.uint8)
    val = replace(split_data(squares, squares > 0, ["a", "b", "c"], np.array([0, 2, 1])),
                  sources=["busi", "busi", "busbra"], images=images, true_masks=[centre, np.zeros_like(centre), corner])
    results = score(centre_unet, SETTINGS, val)
    assert results["busi"]["dice_lesion_images"] == pytest.approx(1.0)
    assert results["busi"]["false_lesion_rate_normal"] == 1.0
    assert results["busbra"]["dice_lesion_images"] == 0.0
    assert results["busbra"]["false_lesion_rate_normal"] is None
