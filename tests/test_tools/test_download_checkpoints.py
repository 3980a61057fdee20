# Copyright (c) mmunirep contributors. All rights reserved.
"""tools/download_checkpoints.py against a static server on 127.0.0.1 that
lays files out as the Hugging Face Hub does, and the offline load from the
cache it fills."""
import functools
import http.server
import socket
import threading

import pytest
import torch
from torch import nn

from mmunirep.apis import load_config
from mmunirep.checkpoints import (LOST, PUBLISHED, checkpoint_url,
                                  download_checkpoint, published_checkpoint,
                                  published_checkpoints_of)
from mmunirep.models import UniRepLKNet
from mmunirep.utils import CheckpointError
from tests.test_tools.conftest import run_tool

TOOL = 'tools/download_checkpoints.py'
A_NAME = 'unireplknet_a_in1k_224_acc77.03.pth'
T_NAME = 'unireplknet_t_in1k_224_acc83.21.pth'
F_NAME = 'unireplknet_f_in1k_224_acc78.58.pth'
P_NAME = 'unireplknet_p_in1k_224_acc80.23.pth'


def authors_classifier_state(arch, num_classes=10, seed=0):
    """A state dict in the authors' classifier layout (backbone keys,
    ``norm.*`` and ``head.*``), wrapped in ``model`` as their training
    script saves it."""
    torch.manual_seed(seed)
    backbone = UniRepLKNet(arch, out_indices=(3, ),
                           gap_before_final_norm=True)
    state = dict(backbone.state_dict())
    head = nn.Linear(backbone.dims[-1], num_classes)
    state.update({f'head.{k}': v for k, v in head.state_dict().items()})
    return {'model': state}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def hub(tmp_path_factory):
    """A static server with the Hub's ``<repo>/resolve/main/<name>`` layout.

    Serves a valid A file, a truncated copy under the F name, garbage under
    the P name and an A state dict under the T name (wrong arch).
    """
    root = tmp_path_factory.mktemp('hub')
    files = root / 'DingXiaoH' / 'UniRepLKNet' / 'resolve' / 'main'
    files.mkdir(parents=True)
    torch.save(authors_classifier_state('a'), files / A_NAME)
    good = (files / A_NAME).read_bytes()
    (files / F_NAME).write_bytes(good[:len(good) // 2])
    (files / P_NAME).write_bytes(b'<html>rate limited</html>' * 50)
    torch.save(authors_classifier_state('a', seed=1), files / T_NAME)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_address[1]}', files
    server.shutdown()
    server.server_close()


def tool_env(endpoint, torch_home):
    return dict(HF_ENDPOINT=endpoint, TORCH_HOME=str(torch_home))


def test_good_file_arrives_identical_in_the_mmengine_cache(hub, tmp_path):
    endpoint, files = hub
    result = run_tool(TOOL, A_NAME, env=tool_env(endpoint, tmp_path))
    cache = tmp_path / 'hub' / 'checkpoints'
    assert (cache / A_NAME).read_bytes() == (files / A_NAME).read_bytes()
    assert sorted(p.name for p in cache.iterdir()) == [A_NAME]
    assert f'ok {cache / A_NAME}' in result.stderr
    assert A_NAME in result.stderr  # the progress bar's label
    # again: the verified file is kept, nothing is downloaded
    mtime = (cache / A_NAME).stat().st_mtime_ns
    assert download_checkpoint(A_NAME, str(cache),
                               endpoint='http://127.0.0.1:9') == str(
                                   cache / A_NAME)
    assert (cache / A_NAME).stat().st_mtime_ns == mtime


def test_bad_files_are_refused_and_leave_nothing(hub, tmp_path):
    endpoint, _ = hub
    dest = tmp_path / 'dest'
    result = run_tool(TOOL, F_NAME, P_NAME, T_NAME,
                      'unireplknet_n_in1k_224_acc81.64.pth', '--dest', dest,
                      expect_ok=False, env=tool_env(endpoint, tmp_path))
    err = ' '.join(result.stderr.split())
    assert '4 of 4 file(s) failed' in err
    assert f'FAILED {F_NAME}' in err and f'FAILED {P_NAME}' in err
    assert err.count('is not a loadable PyTorch checkpoint') == 2
    assert 'does not fit UniRepLKNet-T' in err
    assert 'shape mismatch' in err
    assert 'the server answered 404' in err
    assert list(dest.iterdir()) == []  # no final file, no partial file


def test_truncated_transfer_is_refused(tmp_path):
    """A server that promises more bytes than it sends."""

    class ShortHandler(http.server.BaseHTTPRequestHandler):

        def do_GET(self):
            self.send_response(200)
            self.send_header('Content-Length', '100000')
            self.end_headers()
            self.wfile.write(b'x' * 1000)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), ShortHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(CheckpointError, match='1000 of 100000 bytes'):
            download_checkpoint(
                A_NAME, str(tmp_path),
                endpoint=f'http://127.0.0.1:{server.server_address[1]}',
                timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    assert list(tmp_path.iterdir()) == []


def test_existing_foreign_file_is_kept(tmp_path):
    (tmp_path / A_NAME).write_bytes(b'my own notes')
    with pytest.raises(CheckpointError, match='left as it is'):
        download_checkpoint(A_NAME, str(tmp_path),
                            endpoint='http://127.0.0.1:9')
    assert (tmp_path / A_NAME).read_bytes() == b'my own notes'


def test_lost_and_unknown_names_are_refused():
    result = run_tool(TOOL, 'unireplknet_xl_in22k_to_in1k_384_acc87.96.pth',
                      expect_ok=False)
    assert 'lost by the authors' in result.stderr
    assert 'unireplknet_xl_in22k_pretrain.pth instead' in result.stderr
    with pytest.raises(ValueError, match="'resnet50.pth' is not a published"):
        published_checkpoint('resnet50.pth')
    from_scratch = load_config('configs/unireplknet_t_in1k.py')
    with pytest.raises(ValueError, match='starts from no checkpoint'):
        published_checkpoints_of(from_scratch.model)
    lost_start = load_config('configs/unireplknet_s_in22k_to_in1k_384.py')
    with pytest.raises(ValueError,
                       match='unireplknet_s_in22k_pretrain.pth was lost'):
        published_checkpoints_of(lost_start.model)


def test_list_names_every_file_and_its_configs():
    out = run_tool(TOOL, '--list').stdout
    for entry in PUBLISHED.values():
        assert entry.name in out
        for config in entry.configs:
            assert f'starts configs/{config}.py' in out
    for name in LOST:
        assert name in out


def test_config_file_is_fetched_then_loaded_offline(hub, tmp_path,
                                                    monkeypatch):
    """--config fills the cache; the backbone then loads the URL the config
    names without touching the network."""
    endpoint, files = hub
    config = tmp_path / 'my_config.py'
    url = checkpoint_url(A_NAME, 'https://huggingface.co')
    config.write_text(
        "model = dict(backbone=dict(type='mmunirep.UniRepLKNet', arch='a', "
        f"init_cfg=dict(type='Pretrained', checkpoint='{url}')))\n")
    run_tool(TOOL, '--config', config, env=tool_env(endpoint, tmp_path))

    monkeypatch.setenv('TORCH_HOME', str(tmp_path))

    def no_network(*args, **kwargs):
        raise AssertionError('network access while loading from the cache')

    monkeypatch.setattr(socket, 'create_connection', no_network)
    monkeypatch.setattr(socket.socket, 'connect', no_network)
    model = UniRepLKNet('a', init_cfg=dict(type='Pretrained',
                                           checkpoint=url))
    model.init_weights()
    expected = torch.load(files / A_NAME, weights_only=True)['model']
    shared = [k for k in model.state_dict() if k in expected]
    # every backbone tensor came from the file (the dense output norms
    # norm0..norm3 are not in a classifier file)
    assert len(shared) == len(model.state_dict()) - 4 * 2
    for key in shared:
        torch.testing.assert_close(model.state_dict()[key], expected[key],
                                   rtol=0, atol=0)
