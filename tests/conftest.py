"""Test-session set-up: the study harnesses' helpers live in ``tools/``
(``tools/analysis_tools/``), not in the package, so ``tools/`` goes on
``sys.path`` for the tests that import them."""
import os.path as osp
import sys

TOOLS_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                     'tools')


def pytest_configure(config) -> None:
    """Append (not prepend: ``tools/test.py`` must not shadow the standard
    library's ``test``) ``tools/`` to ``sys.path`` before collection."""
    if TOOLS_DIR not in sys.path:
        sys.path.append(TOOLS_DIR)
