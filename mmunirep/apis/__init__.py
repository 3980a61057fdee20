# Copyright (c) mmunirep contributors. All rights reserved.
from mmunirep.checkpoints import build_model
from mmunirep.utils import (ConfigOptionError, check_cfg_options, load_config,
                            runnable_task_of, task_of)
from .inference import (build_test_pipeline, dataset_meta_of, draw_prediction,
                        load_dataset_meta, predict)
from .resume import find_resumable_checkpoint, read_resume_point
from .runner_setup import (adapt_distributed_to_cpu, add_deploy_hook,
                           add_results_dump, add_strict_load_hook, enable_amp,
                           enable_auto_scale_lr, enable_test_precision,
                           enable_tta, enable_visualization, set_resume,
                           set_work_dir)

__all__ = [
    'ConfigOptionError', 'adapt_distributed_to_cpu', 'add_deploy_hook',
    'add_results_dump', 'add_strict_load_hook', 'build_model',
    'build_test_pipeline', 'check_cfg_options', 'dataset_meta_of',
    'draw_prediction', 'enable_amp', 'enable_auto_scale_lr',
    'enable_test_precision', 'enable_tta', 'enable_visualization',
    'find_resumable_checkpoint', 'load_config',
    'load_dataset_meta', 'predict', 'read_resume_point', 'runnable_task_of',
    'set_resume', 'set_work_dir', 'task_of'
]
