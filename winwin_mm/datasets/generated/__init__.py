"""Generated datasets: drawn scenes written once in a real dataset's layout.

Three generators, one size convention (``(height, width)`` everywhere):

- street scenes with 9 classes (:mod:`.scenes`), written as
  ``images/labels`` folders or in the BDD100K layout
  (:mod:`.scene_dataset`);
- rooms with exact depth (:mod:`.rooms`), in the NYUv2 layout
  (:mod:`.room_dataset`);
- layered scenes with exact optical flow (:mod:`.flow_scenes`), in the
  MPI-Sintel layout (:mod:`.flow_dataset`).

docs/generated_datasets.md describes each of them.
"""
from .flow_dataset import (  # noqa: F401
    SyntheticFlowDataset, generate_sintel_layout)
from .room_dataset import SyntheticNYUDataset, generate_nyu_layout  # noqa
from .scene_dataset import (  # noqa: F401
    SyntheticSceneDataset, generate_bdd100k_layout, generate_synthetic_scenes)
