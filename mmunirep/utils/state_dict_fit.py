# Copyright (c) mmunirep contributors. All rights reserved.
"""Whether a state dict fits a module: the one rule, and its message.

Knows nothing of any model: what may differ is given by the caller, as
``fnmatch`` patterns of keys (``'head.*'``, ``'norm[0-3].*'``).
"""
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Mapping, Sequence, Tuple, Union

from torch import Tensor, nn

Shape = Tuple[int, ...]
StateOrModule = Union[nn.Module, Mapping[str, Tensor]]


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message says why and what to
    do."""


@dataclass(frozen=True)
class StateDictFit:
    """How a state dict fits a module's.

    Attributes:
        missing (tuple[str]): The module's keys the state dict lacks (and
            may not lack).
        unexpected (tuple[str]): Keys the module lacks (and may not).
        mismatched (tuple[tuple[str, Shape, Shape]]): ``(key, shape in the
            state dict, shape in the module)``.
        allowed_missing (tuple[str]): Missing keys the caller allowed.
        allowed_unexpected (tuple[str]): Unexpected keys the caller allowed.
        shared (int): Keys both have.
    """
    missing: Tuple[str, ...] = ()
    unexpected: Tuple[str, ...] = ()
    mismatched: Tuple[Tuple[str, Shape, Shape], ...] = ()
    allowed_missing: Tuple[str, ...] = ()
    allowed_unexpected: Tuple[str, ...] = ()
    shared: int = 0

    @property
    def fits(self) -> bool:
        """No disallowed difference: the state dict loads with strict keys
        once the allowed ones are accounted for."""
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self) -> str:
        """The differences, one clause per kind, each naming its first key.

        Returns:
            str: E.g. ``'2 key(s) missing from the checkpoint, first: a.b;
            1 unexpected key(s), first: c'``; empty when it fits.
        """
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


def _matches(key: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(key, pattern) for pattern in patterns)


def fit_state_dict(target: StateOrModule,
                   state: Mapping[str, Tensor],
                   allowed_missing: Sequence[str] = (),
                   allowed_unexpected: Sequence[str] = ()) -> StateDictFit:
    """Compare ``state`` with the state dict of ``target``.

    Args:
        target (nn.Module | Mapping[str, Tensor]): The module (or its state
            dict) that would receive ``state``.
        state (Mapping[str, Tensor]): The state dict to load.
        allowed_missing (Sequence[str]): ``fnmatch`` patterns of the
            target's keys that ``state`` may lack.
        allowed_unexpected (Sequence[str]): Patterns of keys of ``state``
            that the target may lack.

    Returns:
        StateDictFit: The differences, allowed and not.
    """
    own = target.state_dict() if isinstance(target, nn.Module) else target
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    return StateDictFit(
        missing=tuple(k for k in missing
                      if not _matches(k, allowed_missing)),
        unexpected=tuple(k for k in unexpected
                         if not _matches(k, allowed_unexpected)),
        mismatched=tuple((k, tuple(v.shape), tuple(own[k].shape))
                         for k, v in state.items()
                         if k in own and v.shape != own[k].shape),
        allowed_missing=tuple(k for k in missing
                              if _matches(k, allowed_missing)),
        allowed_unexpected=tuple(k for k in unexpected
                                 if _matches(k, allowed_unexpected)),
        shared=sum(1 for k in state if k in own))


class StateDictMismatchError(CheckpointError):
    """A state dict that does not fit its target.

    Args:
        source (str): Where the state dict comes from (a file, a URL).
        target (str): What it was to load into, e.g. ``'UniRepLKNet (depths
            [2, 2, 6, 2], dims [40, 80, 160, 320])'``.
        fit (StateDictFit): The differences.
        advice (str): What to do, appended to the message. Defaults to ''.

    Attributes:
        source, target, fit, advice: As given.
    """

    def __init__(self, source: str, target: str, fit: StateDictFit,
                 advice: str = '') -> None:
        self.source, self.target, self.fit = source, target, fit
        self.advice = advice
        super().__init__(f'{source} does not fit {target}: {fit.describe()}.'
                         + (f' {advice}' if advice else ''))
