"""The project as pip installs it (not ``-e``): the package holds every
module it needs, imports from anywhere, builds every ``configs/winwin/``
config, and declares what it imports; ``pip check`` is clean in this
environment."""
import ast
import glob
import importlib.metadata
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PACKAGE = osp.join(ROOT, 'winwin_mm')
# Not part of a source distribution (and large, or written by other runs).
NOT_SOURCE = ('.git', '.venv', 'work_dirs', 'data', 'checkpoints', 'build',
              'dist', '*.egg-info', '__pycache__', '.pytest_cache')

# Run in a fresh interpreter whose cwd is neither the repository nor the
# install target: argv = TARGET ROOT CONFIG_DIR.
BUILD_CONFIGS = r'''
import glob
import os
import os.path as osp
import sys

target, root, config_dir = sys.argv[1:4]
assert not any(osp.realpath(p or os.getcwd()) == root for p in sys.path), \
    sys.path
import torch
import winwin_mm
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

configs = sorted(glob.glob(osp.join(config_dir, '*.py')))
assert configs, config_dir
for path in configs:
    cfg = Config.fromfile(path)  # imports custom_imports: winwin_mm
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    with torch.device('meta'):  # no weights are allocated or loaded
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0, path
    print('built', osp.basename(path), type(model).__name__)
loaded = {name: getattr(mod, '__file__', None)
          for name, mod in sys.modules.items()
          if name.split('.')[0] == 'winwin_mm'}
print('winwin_mm', winwin_mm.__file__, len(loaded), 'modules')
outside = {n: f for n, f in loaded.items()
           if f and not osp.realpath(f).startswith(target + os.sep)}
assert not outside, outside
'''


def _package_files(top: str) -> set:
    """Files under ``top`` relative to it, compiled caches left out."""
    return {osp.relpath(p, top)
            for p in glob.glob(osp.join(top, '**', '*'), recursive=True)
            if osp.isfile(p) and '__pycache__' not in p}


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """The project installed without ``-e`` into a scratch target (from a
    copy of the source tree, so nothing is built inside the clone)."""
    src = tmp_path_factory.mktemp('src') / 'winwin_mm_src'
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    target = osp.realpath(tmp_path_factory.mktemp('target'))
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', '--disable-pip-version-check',
         'install', '-q', '--no-deps', '--no-build-isolation', '--target',
         target, str(src)], text=True, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return target


@pytest.mark.slow
def test_the_installed_package_holds_every_file(installed):
    # Every subpackage and every data file of winwin_mm/ is installed.
    missing = _package_files(PACKAGE) - _package_files(
        osp.join(installed, 'winwin_mm'))
    assert not missing, (f'not installed: {sorted(missing)}; add them to '
                         "setup.py's packages / package_data")
    # Study harnesses and tests are not part of the package.
    assert not {'tools', 'tests', 'configs'} & set(os.listdir(installed))


@pytest.mark.slow
def test_installed_package_imports_elsewhere_and_builds_the_configs(
        installed, tmp_path):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env['PYTHONPATH'] = installed
    proc = subprocess.run(
        [sys.executable, '-c', BUILD_CONFIGS, installed, osp.realpath(ROOT),
         osp.join(ROOT, 'configs', 'winwin')],
        cwd=elsewhere, env=env, text=True, capture_output=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    built = re.findall(r'^built (\S+)', proc.stdout, flags=re.M)
    names = sorted(osp.basename(p) for p in
                   glob.glob(osp.join(ROOT, 'configs', 'winwin', '*.py')))
    assert built == names
    assert f'winwin_mm {osp.join(installed, "winwin_mm", "__init__.py")}' \
        in proc.stdout


def _declared(requirements) -> set:
    """Normalised distribution names of requirement strings, extras
    included."""
    return {re.split(r'[<>=!~;\[ ]', r, 1)[0].lower().replace('_', '-')
            for r in requirements}


def _third_party_imports() -> set:
    """Top-level modules that ``winwin_mm/`` imports, standard library and
    the package itself left out."""
    names = set()
    for path in glob.glob(osp.join(PACKAGE, '**', '*.py'), recursive=True):
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name.split('.')[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split('.')[0])
    return names - set(sys.stdlib_module_names) - {'winwin_mm'}


def test_every_import_is_declared(installed):
    metadata = glob.glob(osp.join(installed, 'winwin_mm-*.dist-info',
                                  'METADATA'))
    assert len(metadata) == 1, metadata
    with open(metadata[0]) as f:
        requires = re.findall(r'^Requires-Dist: (.+)$', f.read(), flags=re.M)
    declared = _declared(requires)
    assert {'torch', 'mmengine', 'mmcv', 'mmsegmentation', 'mmpretrain',
            'numpy', 'h5py', 'mmdet'} <= declared
    providers = importlib.metadata.packages_distributions()
    undeclared = {}
    for module in sorted(_third_party_imports()):
        dists = {d.lower().replace('_', '-')
                 for d in providers.get(module, ())}
        assert dists, f'{module}: imported by winwin_mm, not installed'
        if not dists & declared:
            undeclared[module] = sorted(dists)
    assert not undeclared, f'imported, not in setup.py: {undeclared}'


@pytest.mark.slow
def test_pip_check_is_clean():
    proc = subprocess.run([sys.executable, '-m', 'pip',
                           '--disable-pip-version-check', 'check'],
                          text=True, capture_output=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr +
                                  '\nrun: bash scripts/setup_env.sh')
    # This environment's winwin_mm declares its requirements, so the
    # check covered them.
    declared = _declared(importlib.metadata.requires('winwin_mm') or [])
    assert {'mmsegmentation', 'mmcv', 'torch'} <= declared, (
        f'installed winwin_mm declares only {sorted(declared)}; run: bash '
        'scripts/setup_env.sh')
