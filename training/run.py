"""What a training run was, in `run.json`: `train` writes it, `export` reads it into the card.

Light on purpose (no TensorFlow): the command line imports it for its defaults.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from inference.settings import InferenceSettings

RUN_FILE = "run.json"
# The recipe's epochs: the served UNet, each cross-fitting fold's UNet (it only makes
# training masks; its IoU levels off by then), the classifier's head alone (shared by
# ensemble members), then each member's fine-tuning.
EPOCHS = {"unet": 10, "unet_fold": 6, "head": 3, "fine_tune": 12}
SEED = 20261124
# Classifier ensemble members, each fine-tuned with its own seed (training.train). The bundled
# recipe is one classifier: ensembles that fit the hour on two cores (three members of four
# epochs, or three snapshots of one twelve-epoch run) scored lower on validation than it
# (experiments/results/seeded_ensemble_retrain, snapshot_ensemble_retrain); three members of
# twelve epochs would take 30 min more. `--members N` trains N.
MEMBERS = 1


@dataclass
class TrainingRun:
    """The models' settings (input sizes and kinds, backbone, weights source), the data they
    were trained on, the recipe, and the wall time each stage took (summed over resumes)."""

    settings: InferenceSettings
    data: dict  # per source: dataset, citation, manifest_sha256, counts, split seed
    seed: int
    epochs: dict[str, int]
    recipe: dict = field(default_factory=dict)  # architecture constants the model card states
    wall_time_minutes: dict[str, float] = field(default_factory=dict)

    def save(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / RUN_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, run_dir: Path) -> "TrainingRun":
        path = run_dir / RUN_FILE
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: train the models with `python -m training train` first")
        values = json.loads(path.read_text())
        return cls(**{**values, "settings": InferenceSettings(**values["settings"])})

    def resumed_from(self, run_dir: Path) -> "TrainingRun":
        """This run, keeping the wall time already spent by an earlier start of it in `run_dir`."""
        if (run_dir / RUN_FILE).exists():
            self.wall_time_minutes = TrainingRun.load(run_dir).wall_time_minutes
        return self

    def record_wall_time(self, run_dir: Path, stage: str, seconds: float) -> None:
        self.wall_time_minutes[stage] = self.wall_time_minutes.get(stage, 0.0) + seconds / 60
        self.save(run_dir)
