"""Convert a CroCo / CroCo v2 / CroCo-Flow checkpoint (the documented entry
point; the tool is ``tools/model_converters/croco2winwin.py``).

    python tools/convert_croco.py SRC DST
"""
import os.path as osp
import runpy

if __name__ == '__main__':
    runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)),
                            'model_converters', 'croco2winwin.py'),
                   run_name='__main__')
