"""The paper's segmentation ablations at CPU scale (``tools/ablation.py``).

``settings`` names each trained setting (a config under
``configs/ablations/``) and the studies that group them; ``runner`` trains
and evaluates one setting and seed through ``tools/train.py``,
``tools/tune_temperature.py`` and ``tools/test.py``, resumably; ``report``
writes the tables and the mIoU-vs-training-time plot. Not imported by
``import winwin_mm``.
"""
from .report import summarize, write_report
from .runner import run_setting
from .settings import SETTINGS, STUDIES, Setting, study_plan

__all__ = ['SETTINGS', 'STUDIES', 'Setting', 'run_setting', 'study_plan',
           'summarize', 'write_report']
