"""Video flow streams: the peak memory of a run over a generated video
does not grow with the video's length (each length in its own process)."""
import subprocess
import sys

import pytest

SCRIPT = r'''
import resource, sys
import cv2, numpy as np
from winwin_mm.apis import WinWinFlowInferencer, init_model
n, src, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
w = cv2.VideoWriter(src, cv2.VideoWriter_fourcc(*'MJPG'), 5, (53, 37))
rng = np.random.RandomState(0)
for i in range(n):
    w.write(rng.randint(0, 255, (37, 53, 3), np.uint8))
w.release()
inf = WinWinFlowInferencer(init_model(sys.argv[4]), show_progress=False)
count = inf.video(src, out)
print(count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
'''
FLOW = 'configs/winwin/winwin-flow_vit-t16-rope_1xb4-600_synthetic-flow-256x384.py'


def _run(n, tmp_path):
    res = subprocess.run(
        [sys.executable, '-c', SCRIPT, str(n), str(tmp_path / f'{n}.avi'),
         str(tmp_path / f'out{n}.avi'), FLOW],
        capture_output=True, text=True, check=True)
    count, peak_kb = map(int, res.stdout.split()[-2:])
    return count, peak_kb


@pytest.mark.slow
def test_peak_memory_constant_over_length(tmp_path):
    short, long_ = _run(3, tmp_path), _run(12, tmp_path)
    assert short[0] == 2 and long_[0] == 11
    # 9 more 37x53 frame pairs; holding all inputs and outputs would add
    # little, so the bound is tight: under 4 MB of growth (allocator noise)
    assert long_[1] - short[1] < 4 * 1024, (short, long_)
