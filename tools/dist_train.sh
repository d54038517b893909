#!/usr/bin/env bash
# Multi-process training with torchrun (torch.distributed.run), one process
# per GPU, or per CPU worker on a machine without CUDA (gloo backend):
#   bash tools/dist_train.sh CONFIG NPROC [train.py args]
# Multi-node: run it on every node with NNODES, NODE_RANK, MASTER_ADDR and
# PORT set (see docs/multi_node.md). PYTHON picks the interpreter (default:
# python on PATH, e.g. .venv/bin/python).
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
"$PYTHON" -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    "$(dirname "$0")/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
