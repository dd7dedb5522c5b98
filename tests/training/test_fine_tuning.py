"""The classifier recipe's switches: which augmentations run and which layers fine-tuning trains."""
import pytest
from keras import layers

from inference.settings import InferenceSettings
from training import train
from training.augment import AUGMENTATIONS, build_augmentation
from training.models import build_classifier

pytestmark = pytest.mark.slow  # builds Keras models


def _tiny_training(run_dir, weights: str, members: int = 1):
    """A one-epoch-per-phase run of a 64 px Lite0 raw-scan classifier on six random scans (three
    classes, validated on themselves): (run, train), where train([fine_tuning]) trains it into
    `run_dir` as `python -m training train` does and returns the members."""
    import numpy as np

    from inference.preprocessing import classifier_input
    from training.run import TrainingRun

    settings = InferenceSettings(backbone="efficientnet-lite0", weights=weights, classifier_size=64,
                                 classifier_input="raw")
    squares = np.random.default_rng(0).integers(0, 256, (6, settings.square_size, settings.square_size), dtype=np.uint8)
    labels = np.array([0, 1, 2] * 2)
    run = TrainingRun(settings, data={}, seed=0, epochs={"head": 1, "fine_tune": 1},
                      recipe={"classifier_members": members})
    val_inputs = np.stack([classifier_input(settings, s, np.zeros_like(s, bool)) for s in squares])

    def train_it(*fine_tuning: train.FineTuning):  # none: the recipe's default
        return train.train_classifier(run, run_dir, "classifier", settings, (squares, np.zeros(squares.shape, bool)),
                                      labels, (val_inputs, labels), *fine_tuning)

    return run, train_it


def test_leaving_out_an_augmentation_removes_exactly_it():
    every = build_augmentation()
    fewer = build_augmentation(frozenset({"gamma", "blur"}))
    assert len(every.transforms) == len(AUGMENTATIONS)
    assert [type(t).__name__ for t in fewer.transforms] == [
        type(t).__name__ for t in every.transforms if type(t).__name__ not in ("RandomGamma", "GaussianBlur")]


def test_the_recipe_states_the_augmentations_each_network_trains_with():
    """run.json (and so the model card) names what the classifier's default fine-tuning builds."""
    recipe = train.recipe()
    every = build_augmentation().transforms
    built = build_augmentation(train.FineTuning().leave_out).transforms
    assert [type(t).__name__ for t in built] == [
        type(every[AUGMENTATIONS.index(name)]).__name__ for name in recipe["classifier_augmentations"]]
    assert recipe["unet_augmentations"] == list(AUGMENTATIONS)


def test_an_unknown_augmentation_is_an_error():
    with pytest.raises(ValueError, match="speckel"):
        build_augmentation(frozenset({"speckel"}))


@pytest.fixture
def classifier():
    """A fresh model per test: a layer frozen by one test stays frozen (Keras does not
    propagate `trainable` into a nested functional model's layers)."""
    return build_classifier(InferenceSettings(backbone="efficientnet-lite0", weights="none", classifier_size=64,
                                              classifier_input="raw"))


def _trainable(model, prefix: str) -> set[bool]:
    backbone = model.get_layer("backbone")
    return {layer.trainable for layer in backbone.layers if layer.name.startswith(prefix) and layer.weights
            and not isinstance(layer, layers.BatchNormalization)}


def test_head_phase_trains_the_head_alone(classifier):
    train._set_backbone_trainable(classifier, False, ())
    assert not classifier.get_layer("backbone").trainable_weights
    assert classifier.get_layer("logits").trainable


@pytest.mark.parametrize("frozen, stem_trains", [(("stem", "block1"), False), ((), True)])
def test_fine_tuning_keeps_the_named_layers_and_every_batch_norm_frozen(classifier, frozen, stem_trains):
    train._set_backbone_trainable(classifier, True, frozen)
    backbone = classifier.get_layer("backbone")
    assert all(not layer.trainable for layer in backbone.layers if isinstance(layer, layers.BatchNormalization))
    assert _trainable(classifier, "stem_conv") == {stem_trains}
    assert _trainable(classifier, "block6") == {True}


def test_from_scratch_the_batch_norms_learn_too(classifier):
    train._set_backbone_trainable(classifier, True, (), keep_batch_norms=False)
    backbone = classifier.get_layer("backbone")
    assert all(layer.trainable for layer in backbone.layers if isinstance(layer, layers.BatchNormalization))


def test_from_scratch_training_skips_the_head_phase(tmp_path):
    """A head on random features learns nothing: `weights="none"` trains everything at once."""
    run, train_it = _tiny_training(tmp_path, "none")
    train_it()
    assert not (tmp_path / "classifier_head_log.csv").exists()
    assert (tmp_path / "classifier_log.csv").read_text().count("\n") == 2  # header and one epoch
    assert set(run.wall_time_minutes) == {"classifier"}


@pytest.mark.slow
def test_each_member_is_fine_tuned_from_the_shared_head_with_its_own_seed(tmp_path):
    """Three members: one head phase, three fine-tunings that each load, start from the same head
    and end apart (their own seeds); a second call resumes and trains nothing again."""
    import keras
    import numpy as np

    _, train_members = _tiny_training(tmp_path, "imagenet", members=3)
    trained = train_members()
    members = train.member_paths(tmp_path, "classifier")
    assert [p.name for p in members] == [f"classifier_member{k}_best.keras" for k in range(3)]
    assert (tmp_path / "classifier_head_log.csv").read_text().count("\n") == 2  # header and one epoch: once
    head = keras.models.load_model(tmp_path / "classifier_head_best.keras", compile=False)
    weights = [keras.models.load_model(p, compile=False).get_layer("logits").get_weights()[0] for p in members]
    assert all(not np.allclose(w, head.get_layer("logits").get_weights()[0]) for w in weights)
    assert not np.allclose(weights[0], weights[1]) and not np.allclose(weights[1], weights[2])
    assert len(trained) == 3
    logs = [(tmp_path / f"classifier_member{k}_log.csv").read_text() for k in range(3)]
    train_members()
    assert [(tmp_path / f"classifier_member{k}_log.csv").read_text() for k in range(3)] == logs


@pytest.mark.slow
@pytest.mark.parametrize("train_batch_norms", [False, True])
def test_batch_norm_statistics_move_only_when_the_recipe_trains_them(tmp_path, train_batch_norms):
    """Pretrained fine-tuning keeps ImageNet's batch-norm statistics unless `train_batch_norms`
    (issue 31, item 5): then they learn the scans' statistics."""
    import keras
    import numpy as np

    _, train_it = _tiny_training(tmp_path, "imagenet")
    train_it(train.FineTuning(train_batch_norms=train_batch_norms))

    def statistics(path):
        backbone = keras.models.load_model(path, compile=False).get_layer("backbone")
        return [w for layer in backbone.layers if isinstance(layer, layers.BatchNormalization)
                for w in (layer.moving_mean.numpy(), layer.moving_variance.numpy())]

    head, tuned = statistics(tmp_path / "classifier_head_best.keras"), statistics(tmp_path / "classifier_last.keras")
    moved = [not np.allclose(a, b) for a, b in zip(head, tuned, strict=True)]
    assert any(moved) == train_batch_norms
