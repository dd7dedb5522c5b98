"""The ensemble benchmark averages the members' logits as the mirror pass does."""
import numpy as np
import pytest

from experiments.ensemble import combinations

pytestmark = pytest.mark.slow  # imports TensorFlow (training.export)


def test_members_pairs_and_mirror_passes_are_averaged_by_hand():
    logits = {"A": (np.array([[2.0, 0.0, 0.0]]), np.array([[0.0, 2.0, 0.0]])),
              "B": (np.array([[0.0, 0.0, 4.0]]), np.array([[4.0, 0.0, 0.0]]))}
    combos = combinations(["A", "B"], logits)
    assert set(combos) == {"A", "A, mirror", "B", "B, mirror", "A + B", "A + B, mirror"}
    np.testing.assert_allclose(combos["A, mirror"], [[1.0, 1.0, 0.0]])
    np.testing.assert_allclose(combos["A + B"], [[1.0, 0.0, 2.0]])
    np.testing.assert_allclose(combos["A + B, mirror"], [[1.5, 0.5, 1.0]])
