"""Inference throughput of the demo models through the inferencers
(``tools/benchmark.py --suite inference``).

Rows, measured side by side in one process and one run: segmentation at
1280x720 through ``WinWinSegInferencer``, one pass vs mmseg's slide mode;
optical flow at 1920x1080 through ``WinWinFlowInferencer``, one pass vs
CroCo-style tiling (the model's ``test_cfg`` ``mode='tile'``); each in fp32
and bf16 autocast; ONNX Runtime against PyTorch for the one-pass models
(``winwin_mm.deployment.onnx_export``, where installed). Then the accuracy
change from bf16 on the demo data: mIoU (segmentation) and EPE (flow) of the
same weights, fp32 vs bf16.

Timing runs in rounds: every row times its items once per round, rows one
after the other, so that drift of a shared machine hits every row alike;
a row's time per item is the median over the timed rounds. Warm-up rounds
run the one-pass rows only: a tiling row's first of its many passes warm it
up (a warm-up round of the Full-HD tiling would cost minutes).
"""
import os.path as osp
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional

import numpy as np

from .. import REPO_ROOT
from .cases import slide_passes
from .measure import time_step

SEG_CONFIG = osp.join(
    'configs', 'winwin', 'winwin_vit-t16-rope_1xb8-500_synthetic-640x352.py')
FLOW_CONFIG = osp.join(
    'configs', 'winwin',
    'winwin-flow_vit-t16-rope_1xb4-600_synthetic-flow-256x384.py')

# Full: the issue's sizes; slide = the demo's (training window of 10x10
# tokens, half overlap, scripts/demo.sh); tile = the flow model's training
# frame at CroCo-Flow's default overlap 0.7. Quick: same structure, tiny.
SIZES = {
    'full': dict(seg=(720, 1280), slide=((160, 160), (80, 80)),
                 flow=(1080, 1920), tile=(256, 384), overlap=0.7),
    'quick': dict(seg=(48, 80), slide=((32, 32), (16, 16)),
                  flow=(48, 80), tile=(32, 48), overlap=0.7),
}


@dataclass
class Row:
    """One measured setting.

    Attributes:
        name: unique key, e.g. ``'seg_slide_bf16'``.
        task: ``'seg'`` or ``'flow'``.
        mode: ``'whole'``, ``'slide'``, ``'tile'`` or ``'onnx'``.
        precision: ``'fp32'`` or ``'bf16'``.
        label: human-readable description.
        passes: model forward passes per item.
        items: images (pairs) per timed round.
        reference: the row its ``ratio`` is taken against (the one pass
            of the same task and precision; ONNX: PyTorch fp32 one pass).
    """
    name: str
    task: str
    mode: str
    precision: str
    label: str
    passes: int
    items: int
    reference: str


def build_rows(quick: bool, seg_items: int, flow_items: int,
               onnx: bool = True) -> List[Row]:
    """Every row, references first within each task."""
    from winwin_mm.models.segmentors.flow_tiling import tile_boxes
    s = SIZES['quick' if quick else 'full']
    (H, W), (crop, stride) = s['seg'], s['slide']
    (FH, FW), tile = s['flow'], s['tile']
    n_slide = slide_passes((H, W), crop, stride)
    n_tile = len(tile_boxes(FH, FW, tile, s['overlap']))
    rows = []
    for p in ('fp32', 'bf16'):
        rows += [
            Row(f'seg_whole_{p}', 'seg', 'whole', p,
                f'seg {W}x{H}: one pass', 1, seg_items, f'seg_whole_{p}'),
            Row(f'seg_slide_{p}', 'seg', 'slide', p,
                f'seg {W}x{H}: mmseg slide {crop[1]}x{crop[0]}, stride '
                f'{stride[1]}', n_slide, seg_items, f'seg_whole_{p}')]
    for p in ('fp32', 'bf16'):
        rows += [
            Row(f'flow_whole_{p}', 'flow', 'whole', p,
                f'flow {FW}x{FH}: one pass', 1, flow_items,
                f'flow_whole_{p}'),
            Row(f'flow_tile_{p}', 'flow', 'tile', p,
                f'flow {FW}x{FH}: CroCo tiling {tile[1]}x{tile[0]}, '
                f'overlap {s["overlap"]}', n_tile, flow_items,
                f'flow_whole_{p}')]
    if onnx:
        rows += [Row(f'{t}_onnx_fp32', t, 'onnx', 'fp32',
                     f'{t} {w}x{h}: one pass, ONNX Runtime', 1, n,
                     f'{t}_whole_fp32')
                 for t, (h, w), n in (('seg', (H, W), seg_items),
                                      ('flow', (FH, FW), flow_items))]
    return rows


def test_cfg_of(row: Row, quick: bool) -> Dict:
    """The ``test_cfg`` keys a row sets on the model (besides the rest)."""
    s = SIZES['quick' if quick else 'full']
    if row.mode == 'slide':
        crop, stride = s['slide']
        return dict(mode='slide', crop_size=crop, stride=stride)
    if row.mode == 'tile':
        return dict(mode='tile', crop_size=s['tile'], overlap=s['overlap'])
    return dict(mode='whole')


def add_ratios(results: List[Dict]) -> None:
    """In place: ``items_per_s`` = items / median seconds of a round;
    ``ratio`` = reference's items/s over the row's (``x faster`` one pass
    than tiling; ONNX: PyTorch over ONNX Runtime, below 1 when ONNX Runtime
    is faster); ``bf16_speedup`` (bf16 rows) = items/s over the fp32 row
    of the same mode. Rows with an ``error`` get None."""
    for r in results:
        ok = r.get('round_s') and not r.get('error')
        r['time_per_item_s'] = (statistics.median(r['round_s']) / r['items']
                                if ok else None)
        r['items_per_s'] = 1 / r['time_per_item_s'] if ok else None
    by = {r['name']: r for r in results}

    def div(a, b):
        return a / b if a is not None and b else None

    for r in results:
        ref = by.get(r['reference'], {})
        r['ratio'] = div(ref.get('items_per_s'), r['items_per_s'])
        r['bf16_speedup'] = None
        if r['precision'] == 'bf16':
            fp32 = by.get(r['name'].replace('_bf16', '_fp32'), {})
            r['bf16_speedup'] = div(r['items_per_s'],
                                    fp32.get('items_per_s'))


def accuracy_change(fp32: Optional[Dict], bf16: Optional[Dict],
                    key: str) -> Dict:
    """``{'metric', 'fp32', 'bf16', 'change'}`` with change = bf16 - fp32
    (None where a run is missing)."""
    a = (fp32 or {}).get(key)
    b = (bf16 or {}).get(key)
    # metrics may come as numpy scalars (FlowMetric): plain floats for JSON
    a, b = (float(v) if v is not None else None for v in (a, b))
    return dict(metric=key, fp32=a, bf16=b,
                change=b - a if a is not None and b is not None else None)


# ---------------------------------------------------------------- running

def _abs(path: str) -> str:
    return path if osp.isabs(path) else osp.join(REPO_ROOT, path)


def load_model(config: str, checkpoint: Optional[str], device: str):
    """``init_model`` (strict load) or random weights without a
    checkpoint; returns ``(model, Config)``."""
    from mmengine.config import Config

    from winwin_mm.apis import init_model
    cfg = Config.fromfile(_abs(config))
    return init_model(cfg, checkpoint and _abs(checkpoint), device), cfg


def make_inputs(task: str, size, n: int, quick: bool) -> list:
    """``n`` generated street scenes (seg) or frame pairs (flow) of
    ``size`` ``(H, W)``: what the demo models were trained on; random
    pixels in quick mode (content does not change the cost)."""
    rng = np.random.default_rng(0)
    H, W = size
    if quick:
        def img():
            return rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        return ([img() for _ in range(n)] if task == 'seg'
                else [(img(), img()) for _ in range(n)])
    if task == 'seg':
        from winwin_mm.datasets.generated.scenes import render_scene
        return [render_scene(rng, H, W)[0] for _ in range(n)]
    from winwin_mm.datasets.generated.flow_scenes import render_sequence
    frames = render_sequence(rng, n + 1, H, W)[0]
    return list(zip(frames[:-1], frames[1:]))


def _onnx_runner(model, task: str, out_dir: str
                 ) -> Callable[[list], None]:
    """A function running the exported one-pass model in ONNX Runtime on
    items as the inferencer gets them (``H x W x 3`` uint8 BGR images or
    pairs of them), with the same threads as torch, turning logits into
    label maps as the inferencer does; raises ``ImportError`` (no export
    module or onnx packages) or the export's error (the row says why)."""
    import torch

    from winwin_mm.deployment.onnx_export import (OnnxRuntimeModel,
                                                  export_onnx)
    path = export_onnx(model, task, osp.join(out_dir, f'{task}.onnx'))
    ort = OnnxRuntimeModel(path, num_threads=torch.get_num_threads())

    def chw(img: np.ndarray) -> np.ndarray:
        return img.transpose(2, 0, 1)[None].astype(np.float32)  # 1,3,H,W

    def run(items: list) -> None:
        for x in items:
            if task == 'flow':
                ort(chw(x[0]), chw(x[1]))
            else:
                ort(chw(x))[0][0].argmax(0)  # H, W labels
    return run


def time_rows(rows: List[Row], inferencers: Dict, inputs: Dict,
              warmup: int, repeats: int, quick: bool, out_dir: str,
              say: Callable[[str], None]) -> List[Dict]:
    """Seconds per round of every row (``round_s``), rounds interleaved.

    Args:
        rows: from :func:`build_rows`.
        inferencers: ``{'seg': ..., 'flow': ...}``.
        inputs: ``{'seg': [...], 'flow': [...]}``.
        warmup, repeats: untimed rounds (one-pass rows only) and timed
            rounds.
        quick: tiny sizes.
        out_dir: where ONNX files go.
        say: progress printer.
    """
    results = {r.name: dict(asdict(r), round_s=[]) for r in rows}
    runners = {}
    for r in rows:
        inf = inferencers[r.task]
        if r.mode == 'onnx':
            try:
                runners[r.name] = _onnx_runner(inf.model, r.task, out_dir)
            except ImportError as err:
                results[r.name]['error'] = ('not measured: export module '
                                            f'missing ({err})')
            except Exception as err:  # an export failure: report it
                results[r.name]['error'] = f'not measured: {err!r:.200}'
            continue
        cfg = test_cfg_of(r, quick)
        bf16 = r.precision == 'bf16'

        def run(items, inf=inf, cfg=cfg, bf16=bf16):
            saved = inf.model.test_cfg
            inf.model.test_cfg = type(saved)(dict(saved, **cfg))
            try:
                inf(items, batch_size=1, bf16=bf16)
            finally:
                inf.model.test_cfg = saved
        runners[r.name] = run
    for k in range(warmup + repeats):
        kind = 'warm-up' if k < warmup else 'timed'
        for r in rows:
            if r.name not in runners or (k < warmup and r.passes > 1):
                continue  # tiling warms up on its own first passes
            items = inputs[r.task][:r.items]
            t = time_step(lambda: runners[r.name](items), 'cpu', 0, 1,
                          lambda msg: None)[0]
            say(f'round {k + 1}/{warmup + repeats} ({kind}) {r.name}: '
                f'{t:.2f} s for {len(items)} item(s)')
            if k >= warmup:
                results[r.name]['round_s'].append(t)
    return list(results.values())


def evaluate(model, cfg, bf16: bool, samples: int, device: str) -> Dict:
    """The config's test metric over the first ``samples`` items of its
    test set (all if 0 or more than it holds), through the inferencers'
    ``test_step`` (the model's own test mode, bf16 autocast or not)."""
    from mmengine.dataset import pseudo_collate
    from mmengine.evaluator import Evaluator
    from mmseg.registry import DATASETS

    from winwin_mm.apis.inferencers.common import test_step
    ds_cfg = cfg.test_dataloader.dataset.copy()
    ds_cfg['data_root'] = _abs(ds_cfg['data_root'])
    dataset = DATASETS.build(ds_cfg)
    n = len(dataset) if not samples else min(samples, len(dataset))
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    for i in range(n):
        data = pseudo_collate([dataset[i]])
        evaluator.process(test_step(model, data, bf16, device), data)
    return dict(evaluator.evaluate(n), samples=n)


# ---------------------------------------------------------------- report

def format_table(results: List[Dict], accuracy: List[Dict],
                 meta: Dict) -> str:
    """The printed table."""
    head = (f'{"row":<16}{"what":<52}{"prec.":>6}{"passes":>8}'
            f'{"items":>6}{"s/item":>9}{"items/s":>9}{"ratio":>8}'
            f'{"bf16 x":>8}')
    lines = [f'winwin_mm inference throughput: {meta["device_name"]}, '
             f'{meta["torch_threads"]} torch threads'
             f'{", QUICK sizes" if meta["quick"] else ""}; weights: '
             f'{meta["weights"]}',
             'ratio = items/s of the reference (one pass, same precision; '
             'ONNX rows: PyTorch fp32) / items/s of the row; '
             'bf16 x = items/s bf16 / fp32, same mode',
             f'median of {meta["repeats"]} timed round(s) after '
             f'{meta["warmup"]} warm-up round(s) (one-pass rows), rows '
             'interleaved', head,
             '-' * len(head)]
    fmt = (lambda v, f='.2f': format(v, f) if v is not None else '-')
    for r in results:
        if r.get('error'):
            lines.append(f'{r["name"]:<16}{r["label"][:51]:<52}'
                         f'{r["precision"]:>6}  {r["error"][:90]}')
            continue
        lines.append(
            f'{r["name"]:<16}{r["label"][:51]:<52}{r["precision"]:>6}'
            f'{r["passes"]:>8}{r["items"]:>6}'
            f'{fmt(r["time_per_item_s"], ".3f"):>9}'
            f'{fmt(r["items_per_s"], ".3f"):>9}{fmt(r["ratio"]):>8}'
            f'{fmt(r["bf16_speedup"]):>8}')
    if accuracy:
        lines.append('accuracy, same weights, fp32 vs bf16 autocast '
                     '(whole-image / whole-frame one pass):')
    for a in accuracy:
        if a.get('fp32') is None:
            lines.append(f'  {a["task"]}: {a["metric"]} not measured '
                         f'({a.get("note", "")})')
            continue
        lines.append(f'  {a["task"]} {a["metric"]} on {a["samples"]} '
                     f'{a["data"]}: fp32 {a["fp32"]:.4f}, bf16 '
                     f'{a["bf16"]:.4f}, change {a["change"]:+.4f}')
    return '\n'.join(lines)


def write_report(out_dir: str, results: List[Dict], accuracy: List[Dict],
                 meta: Dict) -> Dict[str, str]:
    """``inference.json`` and ``inference.txt`` in ``out_dir``."""
    import json
    paths = {k: osp.join(out_dir, f'inference.{k}') for k in ('json', 'txt')}
    with open(paths['json'], 'w') as f:
        json.dump(dict(meta=meta, rows=results, accuracy=accuracy), f,
                  indent=1, default=float)  # numpy scalars
    with open(paths['txt'], 'w') as f:
        f.write(format_table(results, accuracy, meta) + '\n')
    return paths


def run_inference_benchmark(out_dir: str, device: str = 'cpu',
                            quick: bool = False,
                            seg_config: str = SEG_CONFIG,
                            seg_checkpoint: Optional[str] = None,
                            flow_config: str = FLOW_CONFIG,
                            flow_checkpoint: Optional[str] = None,
                            seg_items: int = 2, flow_items: int = 1,
                            warmup: int = 1, repeats: int = 2,
                            accuracy_samples: Optional[int] = None,
                            onnx: bool = True, threads: int = 0) -> Dict:
    """Measure every row, the bf16 accuracy change, print and write.

    Args:
        out_dir: where ``inference.{json,txt}`` (and ONNX files) go.
        device: ``'cpu'`` or ``'cuda'``.
        quick: tiny sizes (tests, smoke runs).
        seg_config, flow_config: the models (default: the demo configs).
        seg_checkpoint, flow_checkpoint: their weights (None: random).
        seg_items, flow_items: images / pairs per timed round.
        warmup, repeats: untimed and timed rounds.
        accuracy_samples: test items for mIoU / EPE (0: all; None: all,
            but none in quick mode: the demo data may not exist there).
        onnx: add the ONNX Runtime rows.
        threads: torch threads (0: torch's default).

    Returns:
        ``dict(rows=[...], accuracy=[...], meta={...})``.
    """
    import os

    import torch

    from winwin_mm.apis import WinWinFlowInferencer, WinWinSegInferencer
    from .runner import cpu_description
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    os.makedirs(out_dir, exist_ok=True)

    def say(msg: str) -> None:
        print(f'[inference] {msg}', file=sys.stderr, flush=True)

    start = time.perf_counter()
    s = SIZES['quick' if quick else 'full']
    models = dict(seg=load_model(seg_config, seg_checkpoint, device),
                  flow=load_model(flow_config, flow_checkpoint, device))
    infs = dict(
        seg=WinWinSegInferencer(models['seg'][0], device=device,
                                show_progress=False),
        flow=WinWinFlowInferencer(models['flow'][0], device=device,
                                  show_progress=False))
    inputs = dict(seg=make_inputs('seg', s['seg'], seg_items, quick),
                  flow=make_inputs('flow', s['flow'], flow_items, quick))
    rows = build_rows(quick, seg_items, flow_items, onnx)
    results = time_rows(rows, infs, inputs, warmup, repeats, quick,
                        out_dir, say)
    add_ratios(results)

    if accuracy_samples is None:
        accuracy_samples = -1 if quick else 0
    accuracy = []
    for task, key, data in (('seg', 'mIoU', 'generated street scenes '
                             '(640x352, demo validation split)'),
                            ('flow', 'EPE', 'generated flow pairs '
                             '(384x256, demo validation split)')):
        model, cfg = models[task]
        if accuracy_samples < 0:
            accuracy.append(dict(accuracy_change(None, None, key),
                                 task=task, note='skipped (quick)'))
            continue
        say(f'{task} {key}: fp32 and bf16 on the demo data')
        m = {p: evaluate(model, cfg, p == 'bf16', accuracy_samples, device)
             for p in ('fp32', 'bf16')}
        accuracy.append(dict(accuracy_change(m['fp32'], m['bf16'], key),
                             task=task, samples=m['fp32']['samples'],
                             data=data, fp32_metrics=m['fp32'],
                             bf16_metrics=m['bf16']))
    meta = dict(
        device=device, quick=quick, warmup=warmup, repeats=repeats,
        seg_config=seg_config, seg_checkpoint=seg_checkpoint,
        flow_config=flow_config, flow_checkpoint=flow_checkpoint,
        weights=('checkpoints' if seg_checkpoint and flow_checkpoint
                 else 'random (no checkpoint) for ' + ', '.join(
                     t for t, c in (('seg', seg_checkpoint),
                                    ('flow', flow_checkpoint)) if not c)),
        torch=torch.__version__, torch_threads=torch.get_num_threads(),
        device_name=(torch.cuda.get_device_name() if device == 'cuda'
                     else cpu_description()),
        cpu_count=os.cpu_count(), total_s=time.perf_counter() - start,
        command=' '.join(sys.argv))
    print(format_table(results, accuracy, meta))
    paths = write_report(out_dir, results, accuracy, meta)
    print(f'wrote {paths["json"]}, {paths["txt"]}')
    return dict(rows=results, accuracy=accuracy, meta=meta)
