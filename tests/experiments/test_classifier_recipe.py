"""classifier_recipe's scoring through the served classifier step, with a real (tiny, untrained) Keras classifier."""
import numpy as np
import pytest

from inference.settings import InferenceSettings
from training.models import build_classifier
from training.sources import SplitData

pytestmark = pytest.mark.slow  # builds a Keras model


def test_score_gives_per_source_metrics_and_a_temperature_fitted_on_the_given_rows():
    from experiments.classifier_recipe import SCORED, score

    settings = InferenceSettings(backbone="efficientnet-lite0", weights="none", classifier_size=64,
                                 classifier_input="raw", flip_average=False)
    rng = np.random.default_rng(0)
    squares = rng.integers(0, 256, (6, settings.square_size, settings.square_size), dtype=np.uint8)
    labels = np.array([0, 1, 2, 0, 1, 0])
    sources = ["busi"] * 3 + ["busbra"] * 3
    val = SplitData(samples=[], sources=sources, images=[], true_masks=[], squares=squares,
                    square_masks=np.zeros(squares.shape, bool), labels=labels, groups=[])
    results = score(build_classifier(settings), settings, val, val.square_masks, val.where("busi"))
    assert list(results) == ["busi", "busbra"]
    assert [results[s]["n"] for s in results] == [3, 3]
    assert all(key in results["busi"] for key in SCORED)
    assert results["busi"]["temperature"] == results["busbra"]["temperature"] > 0
    assert 0 <= results["busbra"]["ece_calibrated"] <= 1 and results["busbra"]["nll_calibrated"] > 0
