"""Unreadable inputs: named in the error, or skipped with ``skip_errors``;
outputs written before a bad file stay on disk in both modes."""
import os.path as osp

import mmcv
import numpy as np
import pytest

from winwin_mm.apis import (WinWinFlowInferencer, WinWinSegInferencer,
                            init_model)

SEG = 'configs/winwin/winwin_vit-t16-rope_1xb8-500_synthetic-640x352.py'
FLOW = 'configs/winwin/winwin-flow_vit-t16-rope_1xb4-600_synthetic-flow-256x384.py'


def _img(h, w, seed=0):
    return np.random.RandomState(seed).randint(0, 255, (h, w, 3), np.uint8)


@pytest.fixture(scope='module')
def seg():
    return WinWinSegInferencer(init_model(SEG), show_progress=False)


def _folder(root, bad: str, n: int = 3):
    """``n`` good 32x48 PNGs ``a0..`` and one file ``bad`` that is not an
    image (sorted between them)."""
    for i in range(n):
        mmcv.imwrite(_img(32, 48, i), str(root / f'a{i}.png'))
    (root / bad).write_bytes(b'not an image')
    return str(root)


def test_seg_bad_file_raises_named_and_keeps_earlier(seg, tmp_path):
    src = _folder(tmp_path / 'in', 'a1x.png')  # a0, a1, a1x, a2
    out = tmp_path / 'out'
    with pytest.raises(ValueError, match='a1x.png'):
        seg(src, out_dir=str(out))
    # written before the bad file, batch by batch: kept
    assert osp.isfile(out / 'pred' / 'a0.png')
    assert osp.isfile(out / 'vis' / 'a1.png')
    assert not osp.exists(out / 'pred' / 'a2.png')


def test_seg_skip_errors_goes_on_and_reports(seg, tmp_path):
    src = _folder(tmp_path / 'in', 'a1x.png')
    out = tmp_path / 'out'
    res = seg(src, out_dir=str(out), skip_errors=True, batch_size=2)
    assert len(res['predictions']) == 3
    assert [osp.basename(s['input']) for s in res['skipped']] == ['a1x.png']
    assert 'decode' in res['skipped'][0]['error']
    for name in ('a0', 'a1', 'a2'):
        assert osp.isfile(out / 'pred' / f'{name}.png')
    assert len(res['visualization']) == 3


def test_seg_skip_errors_missing_file_and_array_names(seg, tmp_path):
    out = tmp_path / 'out'
    res = seg([_img(32, 48, 0), str(tmp_path / 'nope.png'),
               _img(32, 48, 1)], out_dir=str(out), skip_errors=True)
    assert [s['input'] for s in res['skipped']] == [
        str(tmp_path / 'nope.png')]
    # arrays keep their index in the call, the skipped one included
    assert sorted(p.name for p in (out / 'pred').iterdir()) == [
        '00000000.png', '00000002.png']


def test_flow_folder_bad_frame(tmp_path):
    flow = WinWinFlowInferencer(init_model(FLOW), show_progress=False)
    src = tmp_path / 'frames'
    for i in (0, 1, 3):
        mmcv.imwrite(_img(32, 48, i), str(src / f'f{i}.png'))
    (src / 'f2.png').write_bytes(b'broken')
    out = tmp_path / 'out'
    with pytest.raises(ValueError, match='f2.png'):
        flow(str(src), out_dir=str(out))
    assert osp.isfile(out / 'flow' / 'f0.flo')  # pair (f0, f1): kept
    res = flow(str(src), out_dir=str(out), skip_errors=True)
    # pairs (f1, f2) and (f2, f3) need the broken frame
    assert len(res['predictions']) == 1
    assert len(res['skipped']) == 2
    assert all('f2.png' in s['error'] for s in res['skipped'])


class _FakeReader:
    """mmcv.VideoReader stand-in: 5 frames announced, frame 2 does not
    decode (read returns None and does not advance, as mmcv's)."""

    def __init__(self, path):
        self.frame_cnt, self.fps, self._position = 5, 5, 0
        self.frames = [_img(32, 48, i) for i in range(5)]
        self.frames[2] = None

    def read(self):
        img = self.frames[self._position]
        if img is not None:
            self._position += 1
        return img


def test_video_bad_frame(tmp_path, monkeypatch):
    flow = WinWinFlowInferencer(init_model(FLOW), show_progress=False)
    monkeypatch.setattr(mmcv, 'VideoReader', _FakeReader)
    out = str(tmp_path / 'o.avi')
    with pytest.raises(ValueError, match=r'frame 2 of clip.avi.*1 output'):
        flow.video('clip.avi', out)
    monkeypatch.undo()
    assert mmcv.VideoReader(out).frame_cnt == 1  # written before: kept
    monkeypatch.setattr(mmcv, 'VideoReader', _FakeReader)
    # pairs (0, 1), (1, 3), (3, 4)
    assert flow.video('clip.avi', out, skip_errors=True) == 3


def test_same_output_name_refused_before_writing(seg, tmp_path):
    for d in ('x', 'y'):
        (tmp_path / d).mkdir()
        mmcv.imwrite(_img(32, 48), str(tmp_path / d / 'f.png'))
    out = tmp_path / 'out'
    with pytest.raises(ValueError, match='f.png.*f.png.*separate calls'):
        seg([str(tmp_path / 'x' / 'f.png'), str(tmp_path / 'y' / 'f.png')],
            out_dir=str(out))
    assert not osp.exists(out / 'pred')  # nothing written
    # the same file twice is one output, not a clash; without out_dir no check
    res = seg([str(tmp_path / 'x' / 'f.png')] * 2, out_dir=str(out))
    assert len(res['predictions']) == 2
    assert len(seg([str(tmp_path / 'x' / 'f.png'),
                    str(tmp_path / 'y' / 'f.png')])['predictions']) == 2
