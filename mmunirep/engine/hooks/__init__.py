# Copyright (c) mmunirep contributors. All rights reserved.
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .divergence_guard_hook import DivergenceGuardHook
from .preemption_hook import PreemptionHook
from .strict_checkpoint_load_hook import StrictCheckpointLoadHook
from .switch_to_deploy_hook import SwitchToDeployHook

__all__ = [
    'AtomicCheckpointHook', 'DivergenceGuardHook', 'PreemptionHook',
    'StrictCheckpointLoadHook', 'SwitchToDeployHook'
]
