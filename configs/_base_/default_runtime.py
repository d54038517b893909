# Runtime of every winwin_mm config: mmsegmentation's runtime (scope, env,
# visualizer, log processor) plus what the project needs from any runner
# that reads the config (tools/train.py, mmseg's own tools/train.py,
# `mim train mmseg`):
# - custom_imports registers winwin_mm's components;
# - default_hooks.checkpoint is SafeCheckpointHook (CheckpointHook's
#   arguments): checkpoints that load with a plain torch.load (safe loader),
#   written through a temporary file and a rename, with the random states
#   that --resume restores.
# The hooks are declared here, as mmdet and mmpretrain do, not in the
# schedules: a config sets what differs, e.g.
#   default_hooks = dict(checkpoint=dict(interval=8750, max_keep_ckpts=3))
# Keep `type` out of such overrides, or the hook falls back to mmengine's.
_base_ = ['mmseg::_base_/default_runtime.py']

default_scope = 'mmseg'
custom_imports = dict(imports=['winwin_mm'], allow_failed_imports=False)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='SafeCheckpointHook', by_epoch=False, interval=1000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
