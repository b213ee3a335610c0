"""numba's on-disk cache for the compiled functions of libraries that do not ask for it.

umap and shap compile their numba functions without ``cache=True``, so every process compiles
them again: about 7 s for the first UMAP layout and 4 s for shap's first exact explanation on a
2-core machine, a fifth of a 50,000-recipe report and more of a small one. :func:`cache_compiled`
turns numba's own cache on for the functions of the named modules before they are first called:
the first process stores the machine code (next to the library's source, or in numba's user
cache folder where that is read-only) and later processes load it. The code is the one numba
would compile, so results are unchanged; a function numba cannot cache (one taking another
compiled function as an argument) is compiled as before.
"""

from __future__ import annotations

import importlib
from functools import cache

UMAP_MODULES = ("umap.umap_", "umap.layouts", "umap.utils", "umap.distances", "umap.spectral")
SHAP_MODULES = ("shap.maskers._tabular", "shap.utils._masked_model", "shap.explainers._exact",
                "shap.links")


def cache_compiled(*module_names: str) -> None:
    """Enable numba's on-disk cache for every compiled function defined in ``module_names``
    (each imported if it is not yet). A module that is missing is skipped."""
    for name in module_names:
        _cache_module(name)


@cache  # once per module and process: the dispatchers keep their cache once it is set
def _cache_module(name: str) -> None:
    try:
        module = importlib.import_module(name)
        from numba.core.registry import CPUDispatcher
    except ImportError:
        return
    for value in vars(module).values():
        if isinstance(value, CPUDispatcher) and value.py_func.__module__ == name:
            try:
                value.enable_caching()
            except RuntimeError:  # numba found no writable place for the cache
                return
