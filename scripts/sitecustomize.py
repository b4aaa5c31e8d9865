# Provisio: loaded by Python at start-up, before the script's own folder is put
# first on sys.path. Importing the SDK here means a file of the same name next
# to a custom script can never stand in for it (a new interpreter then behaves
# as a warm one, which has the SDK loaded already). Any sitecustomize the
# interpreter had of its own is run afterwards, as it would have been.
import importlib.machinery
import importlib.util
import os
import sys

try:
    import common_subroutines_efecte_library  # noqa: F401
except Exception:
    pass


def _run_original():
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


try:
    _run_original()
except Exception:
    pass
del _run_original
