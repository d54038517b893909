"""Child process of the benchmark: ``python -m
analysis_tools.benchmark.worker JSON`` (``tools/`` on ``PYTHONPATH``, see
``measure.worker_command``) runs one case (``measure.run_case``) and prints
its result as one JSON line; ``--serve JSON`` builds the case and then runs
one timed step per ``step`` line on stdin until ``quit`` (``paired.py``).
Kept apart from the package's ``__init__`` so that ``-m`` runs a module
that is not imported yet."""
import json
import sys
import warnings


def main(argv) -> None:
    warnings.filterwarnings('ignore', category=UserWarning)
    from analysis_tools.benchmark.cases import Case
    from analysis_tools.benchmark.measure import run_case, serve_case
    if argv[0] == '--serve':
        args = json.loads(argv[1])
        serve_case(Case(**args['case']), args['opts'], sys.stdin)
        return
    args = json.loads(argv[0])
    result = run_case(Case(**args['case']), args['opts'])
    print(json.dumps(result), flush=True)


if __name__ == '__main__':
    main(sys.argv[1:])
