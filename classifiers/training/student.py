"""A smaller student for production: half the teacher's depth, distilled from it.

The student is the teacher's first ``STUDENT_LAYERS`` transformer layers: the lower
``STUDENT_INPUT_LAYER`` stay frozen (they are the base's, as in the teacher) and the two above them
are trained, with the teacher's head as the starting head. Its loss mixes the gold labels (each
document's best window, as for the teacher) with the teacher's probabilities on every window of
every training article, so it learns where in a long article the teacher sees each label. Then it
is cross-fitted on the dev rows exactly like the teacher (``train.finish``). Reading half the
layers, it tags about twice as fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from classifiers.training.train import (
    STUDENT_INPUT_LAYER,
    EncoderClassifier,
    TrainConfig,
    cached_model,
    fine_tuned,
    finish,
    load_classifier,
    pooled,
    prepare,
    seed_everything,
    train,
)

if TYPE_CHECKING:
    from vigia.config import Settings

STUDENT_LAYERS = STUDENT_INPUT_LAYER + 2
# Names its folder and its cached fine-tuned weights: frozen layers + trained layers.
STUDENT = f"student-{STUDENT_INPUT_LAYER}+{STUDENT_LAYERS - STUDENT_INPUT_LAYER}"
SOFT_WEIGHT = 0.5  # share of the loss on matching the teacher, window by window


def train_student(
    settings: Settings,
    config: TrainConfig | None = None,
    progress: bool = True,
    shared: Path | None = None,
    make_current: bool = True,
) -> Path:
    """Build (or find in the cache) the teacher, then its student; returns the student's folder."""
    import torch

    config = config or TrainConfig(max_length=settings.classifier.max_length)
    teacher_dir = train(settings, config, progress, shared, make_current=False)
    inputs = prepare(settings, config, progress, shared)
    out_dir = inputs.root / f"{inputs.key[:16]}-{STUDENT}"
    if cached_model(out_dir, inputs.root, make_current):
        return out_dir
    seed_everything(config.seed)
    torch.set_num_threads(max(1, settings.classifier.threads))
    teacher = load_classifier(teacher_dir)
    states = inputs.states(inputs.examples, config.train_chunks)
    with torch.no_grad():
        soft = torch.sigmoid(teacher.head(pooled(teacher, states[teacher.cut].states, 32)))
    del teacher
    student = EncoderClassifier(
        inputs.base_dir, len(inputs.labels), STUDENT_LAYERS - STUDENT_INPUT_LAYER, layers=STUDENT_LAYERS
    )
    student.head.load_state_dict(load_classifier(teacher_dir).head.state_dict())
    fine_tuned(student, states[STUDENT_INPUT_LAYER], inputs, STUDENT, soft, SOFT_WEIGHT)
    return finish(inputs, student, states[STUDENT_INPUT_LAYER], out_dir, make_current)
