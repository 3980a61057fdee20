# Copyright (c) mmunirep contributors. All rights reserved.
"""Compare a checkpoint's state dict with a model's, for clear errors."""
from dataclasses import dataclass, field
from typing import List, Mapping, Tuple

from torch import Tensor


@dataclass
class StateDictDiff:
    """How a checkpoint state dict differs from a model's.

    Attributes:
        missing (list[str]): Model keys the checkpoint lacks.
        unexpected (list[str]): Checkpoint keys the model lacks.
        mismatched (list[tuple]): ``(key, checkpoint shape, model shape)``.
    """
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.mismatched)

    def describe(self) -> str:
        """One sentence per kind of difference, each naming the first key."""
        problems = []
        if self.mismatched:
            key, theirs, ours = self.mismatched[0]
            problems.append(
                f'{len(self.mismatched)} shape mismatch(es), first: {key} has '
                f'shape {theirs} in the checkpoint but {ours} in the model')
        if self.missing:
            problems.append(f'{len(self.missing)} key(s) missing from the '
                            f'checkpoint, first: {self.missing[0]}')
        if self.unexpected:
            problems.append(f'{len(self.unexpected)} unexpected key(s), '
                            f'first: {self.unexpected[0]}')
        return '; '.join(problems)


def compare_state_dicts(model_state: Mapping[str, Tensor],
                        checkpoint_state: Mapping[str, Tensor]
                        ) -> StateDictDiff:
    """Differences between a model's and a checkpoint's state dicts."""
    return StateDictDiff(
        missing=[k for k in model_state if k not in checkpoint_state],
        unexpected=[k for k in checkpoint_state if k not in model_state],
        mismatched=[(k, tuple(v.shape), tuple(model_state[k].shape))
                    for k, v in checkpoint_state.items()
                    if k in model_state and v.shape != model_state[k].shape])
