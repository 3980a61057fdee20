# Copyright (c) mmunirep contributors. All rights reserved.
from .inference import (build_test_pipeline, dataset_meta_of, draw_prediction,
                        load_dataset_meta, predict)
from .model_builder import build_model, load_config, runnable_task_of, task_of
from .runner_setup import (adapt_distributed_to_cpu, add_deploy_hook,
                           add_results_dump, enable_amp, enable_auto_scale_lr,
                           enable_tta, enable_visualization, set_resume,
                           set_work_dir)

__all__ = [
    'adapt_distributed_to_cpu', 'add_deploy_hook', 'add_results_dump',
    'build_model', 'build_test_pipeline', 'dataset_meta_of', 'draw_prediction',
    'enable_amp', 'enable_auto_scale_lr', 'enable_tta', 'enable_visualization',
    'load_config', 'load_dataset_meta', 'predict', 'runnable_task_of',
    'set_resume', 'set_work_dir', 'task_of'
]
