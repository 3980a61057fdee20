# Copyright (c) mmunirep contributors. All rights reserved.
"""Suite-wide setup.

Under pytest-xdist (``tools/run_tests.sh`` runs ``-n 2 --dist loadfile``):

- each worker computes with ``cores / workers`` threads, and so do the
  processes it starts (``OMP_NUM_THREADS``): the workers share the cores
  instead of fighting over them;
- each module runs on one worker (its module-scoped fixtures are built
  once), and the modules of a unit of ``UNITS`` run on the same worker; the
  ``demo_job`` unit, the longest, is handed out first.
"""
import os

import pytest
import torch

if not torch.cuda.is_available():
    # Triton reads this when a kernel is defined (at import): CPU runs need it.
    os.environ.setdefault('TRITON_INTERPRET', '1')

#: Modules that one xdist worker runs together (--dist loadfile).
UNITS = {
    # every user of the session's main job (tests/test_tools/conftest.py:
    # demo_job and the trained demo models taken from it): it runs once
    **{f'tests/test_tools/{name}.py': 'demo_job'
       for name in ('test_main_job', 'test_detection_flow',
                    'test_segmentation_flow', 'test_inferencers',
                    'test_upstream_tools')},
    # pip builds the checkout in place, rewriting mmunirep/.mim, which
    # tests/test_package.py reads
    'tests/test_tools/test_wheelhouse.py': 'checkout',
    'tests/test_package.py': 'checkout',
}
FIRST = 'demo_job'


def _xdist_workers():
    """Number of xdist workers when this process is one of them, else 0."""
    if not os.environ.get('PYTEST_XDIST_WORKER'):
        return 0
    return int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))


def pytest_configure(config):
    workers = _xdist_workers()
    if workers:
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        for name in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
            os.environ[name] = threads  # the processes tests start
        torch.set_num_threads(int(threads))


def pytest_collection_modifyitems(config, items):
    if not _xdist_workers():
        return
    for item in items:
        module = item.nodeid.split('::')[0]
        if 'demo_job' in item.fixturenames and \
                UNITS.get(module) != 'demo_job':
            raise pytest.UsageError(
                f'{module} uses the demo_job fixture: add it to the '
                "'demo_job' unit of UNITS in tests/conftest.py, or xdist "
                'runs the main job once more on another worker')


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` with the modules of a unit as one work unit."""
    if config.getvalue('dist') != 'loadfile':
        return None
    from xdist.scheduler import LoadFileScheduling

    class UnitScheduling(LoadFileScheduling):

        def _split_scope(self, nodeid):
            module = super()._split_scope(nodeid)
            return UNITS.get(module, module)

        def _assign_work_unit(self, node):
            if FIRST in self.workqueue:
                self.workqueue.move_to_end(FIRST, last=False)
            super()._assign_work_unit(node)

    return UnitScheduling(config, log)
