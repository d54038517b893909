"""Helpers of the study harnesses in ``tools/`` (not part of ``winwin_mm``).

``benchmark``: ``tools/benchmark.py``'s cases, measurements and report;
``ablation``: ``tools/ablation.py``'s settings, runner and report. The
entry scripts put ``tools/`` on ``sys.path`` and import these as
``analysis_tools.benchmark`` and ``analysis_tools.ablation``. They read the
repository's configs and run its tools, so they find the repository from
their own location (``REPO_ROOT``); the installed package never does.
"""
import os.path as osp

TOOLS_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO_ROOT = osp.dirname(TOOLS_DIR)
