# Win-Win optical flow on MPI-Sintel (paper §4.2, Table 4 last row, F.2):
# CroCo-Flow ViT-B/16 RoPE encoder + Base decoder + DPT head, both initialised
# from a converted CroCo v2 checkpoint; 2 windows of 16x16 tokens in frame 1
# and 4 flow-guided windows of 11x11 tokens in frame 2 (stochasticity 0.3) on
# 432x1024 frames (27x64 tokens); trained on FlyingChairs + FlyingThings3D +
# Sintel subtrain; validated on Sintel subval (clean) at full resolution in
# one forward pass. 8 GPUs x 4 pairs.
#
#   python tools/convert_croco.py CroCo_V2_ViTBase_BaseDecoder.pth \
#       checkpoints/crocov2_vitb16_rope.pth
#   bash tools/dist_train.sh configs/winwin/vitb_flow_sintel.py 8
_base_ = [
    '../_base_/models/winwin_crocoflow_vit-b16.py',
    '../_base_/datasets/sintel_flow_winwin.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_flow_cosine_100k.py',
]
# Checkpoint hook (SafeCheckpointHook) from the runtime; its schedule here.
default_hooks = dict(
    checkpoint=dict(interval=10000, max_keep_ckpts=3, save_best='EPE',
                    rule='less'),
    visualization=dict(type='FlowVisualizationHook'))
# Pictures of tools/test.py --show-dir: frame 1 | GT | prediction | error.
visualizer = dict(type='FlowLocalVisualizer',
                  vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')

# After training, before the last checkpoint and the final evaluation: tune
# the attention temperature by search (paper F.2: 1.0-2.0, step 0.02) on 100
# full-resolution frames of Sintel subtrain (clean + final, whole 436x1024
# frames: the hook drops the windows, random scale/crop/flip and colour
# jitter of train_pipeline), as the paper tunes "on full-resolution images
# from the train set"; objective: the EPE of those pairs.
custom_hooks = [
    dict(type='TemperatureTuningHook', mode='search', num_images=100,
         grid=(1.0, 2.0, 0.02), objective='decode.epe',
         dataset=dict(type='SintelDataset', data_root='data/Sintel',
                      split='subtrain', pass_style=('clean', 'final'),
                      pipeline={{_base_.train_pipeline}})),
]
