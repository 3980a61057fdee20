# Copyright (c) mmunirep contributors. All rights reserved.
from .inference import (dataset_meta_of, draw_prediction, load_dataset_meta,
                        predict, test_pipeline_of)
from .model_builder import build_model, load_config, task_of
from .runner_setup import (adapt_distributed_to_cpu, add_deploy_hook,
                           add_results_dump, enable_amp, enable_auto_scale_lr,
                           enable_tta, enable_visualization, set_resume,
                           set_work_dir)

__all__ = [
    'adapt_distributed_to_cpu', 'add_deploy_hook', 'add_results_dump',
    'build_model', 'dataset_meta_of', 'draw_prediction', 'enable_amp', 'enable_auto_scale_lr', 'enable_tta',
    'enable_visualization', 'load_config', 'load_dataset_meta', 'predict',
    'set_resume', 'set_work_dir', 'task_of', 'test_pipeline_of'
]
