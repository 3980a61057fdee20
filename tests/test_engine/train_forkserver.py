# Copyright (c) mmunirep contributors. All rights reserved.
"""Start many short ``tools/train.py`` runs without paying for Python's
imports each time.

Run as a script (``python tests/test_engine/train_forkserver.py``), it
imports tools/train.py once (torch, MMEngine, mmunirep; no tensor work, no
thread started), then reads one JSON request a line: ``start`` forks a
process that runs tools/train.py's ``main()`` with the given arguments,
environment, extra ``sys.path`` entries and log file (standard output and
error, unbuffered), and answers its pid; ``poll`` answers its return code
(``-9`` when it was killed with SIGKILL, None while it runs), as
``subprocess.Popen.poll`` does. Every run is a real process of its own that
can be killed at any moment: what tests of crash-safe saving need, at ~1 s a
run instead of ~4.5 s. ``TrainForkServer`` is the test side.
"""
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------- test side
class TrainForkServer:
    """The server process and its runs (a context manager)."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, '-u', __file__], cwd=ROOT, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                [str(ROOT), os.environ.get('PYTHONPATH', '')])))
        assert self._ask(dict(cmd='ready'), timeout=300) == 'ready'

    def _ask(self, request, timeout=300):
        self.proc.stdin.write(json.dumps(request) + '\n')
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, f'the fork server did not answer {request}'
        line = self.proc.stdout.readline()
        assert line, 'the fork server died'
        return json.loads(line)

    def start(self, args, log, env=None, path=()):
        """Fork a run of ``tools/train.py *args``; return its pid."""
        return self._ask(dict(
            cmd='start', args=[str(a) for a in args], log=str(log),
            env=dict(os.environ, PYTHONUNBUFFERED='1', **(env or {})),
            path=[str(p) for p in path]))

    def poll(self, pid):
        """The run's return code, or None while it runs."""
        return self._ask(dict(cmd='poll', pid=pid))

    def wait(self, pid, timeout=300):
        deadline = time.monotonic() + timeout
        while (code := self.poll(pid)) is None:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                self.wait(pid, 60)
                raise TimeoutError(f'run {pid} took over {timeout} s')
            time.sleep(0.01)
        return code

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ------------------------------------------------------------- server side
def _run(main, request):
    """In the forked process: run ``main()`` as tools/train.py would run it
    and exit with its status (never return)."""
    code = 1
    try:
        os.environ.clear()
        os.environ.update(request['env'])
        sys.path[:0] = request['path']
        log = os.open(request['log'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.argv = ['tools/train.py', *request['args']]
        try:
            main()
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else int(
                stop.code is not None)
    except BaseException:
        import traceback
        traceback.print_exc()
    finally:
        import atexit
        atexit._run_exitfuncs()  # as a normal exit (log files flushed)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve():
    import runpy
    sys.path.insert(0, str(ROOT))
    main = runpy.run_path(str(ROOT / 'tools/train.py'),
                          run_name='train_forkserver')['main']
    done, started = {}, []
    for line in sys.stdin:
        request = json.loads(line)
        if request['cmd'] == 'ready':
            answer = 'ready'
        elif request['cmd'] == 'start':
            pid = os.fork()
            if pid == 0:
                _run(main, request)
            started.append(pid)
            answer = pid
        else:  # poll
            pid = request['pid']
            if pid not in done:
                reaped, status = os.waitpid(pid, os.WNOHANG)
                if reaped:
                    done[pid] = os.waitstatus_to_exitcode(status)
            answer = done.get(pid)
        sys.stdout.write(json.dumps(answer) + '\n')
        sys.stdout.flush()
    for pid in started:  # the test side closed: no run outlives it
        if pid not in done:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


if __name__ == '__main__':
    serve()
