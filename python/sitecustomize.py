# Provisio: loaded by Python at start-up, before the script's own folder is put
# first on sys.path (new interpreters and the warm interpreter alike).
#
# 1. The SDK is imported here, so a file of the same name next to a custom
#    script can never stand in for it.
# 2. A standard-library module is never imported from the script's own
#    folder: custom scripts share that folder, and a `json.py` there (left by
#    a version that accepted such names) would replace the real module for
#    every other script. New scripts with such names are refused anyway.
#
# Any sitecustomize the interpreter had of its own is run afterwards, as it
# would have been.
import importlib.machinery
import importlib.util
import os
import sys

_SDK = "common_subroutines_efecte_library"
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))


class _NotFromTheScriptFolder:
    """Finds the SDK and standard modules on the path minus the folder of the running script."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if path is not None or (name != _SDK and name not in _STDLIB):
            return None
        script = getattr(sys.modules.get("__main__"), "__file__", None)
        if not script:
            return None
        folder = os.path.dirname(os.path.abspath(script))
        rest = [p for p in sys.path if os.path.abspath(p or ".") != folder]
        return importlib.machinery.PathFinder.find_spec(name, rest)


sys.meta_path.insert(0, _NotFromTheScriptFolder)

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
