"""The numba decorator every kernel uses: cached to disk, GIL released, IEEE division.

`error_model="numpy"` makes `x / 0.0` give inf or NaN as numpy and pandas do (numba's
default raises ZeroDivisionError). No general `fastmath`: it would let LLVM reorder sums
and assume no NaN, and both matter here (`jit_fma` allows only multiply-add fusion).
Kernels compile on first call (lazily) and the machine code is cached on disk, so later
processes load it instead of compiling.

numba stamps a cached function with the hash of its own source file only, so editing
`rolling.py` would leave stale machine code for a kernel in `trend.py` that inlined it.
`KernelCacheLocator` stamps every kernel with the hash of the whole `udfs/kernels`
package instead: any edit there recompiles them all.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any

from numba import config, njit
from numba.core.caching import CacheImpl, InTreeCacheLocator

KERNELS_DIR = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=8)
def _package_hash(stamps: tuple[tuple[str, float, int], ...]) -> str:
    """SHA-256 over the kernel sources (memoized on their paths, mtimes and sizes)."""
    digest = hashlib.sha256()
    for path, _, _ in stamps:
        digest.update(path.encode())
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def kernels_source_hash() -> str:
    """Hash of every module in udfs/kernels, the cache stamp of every kernel."""
    stamps = []
    for path in sorted(KERNELS_DIR.glob("*.py")):
        stat = path.stat()
        stamps.append((str(path), stat.st_mtime, stat.st_size))
    return _package_hash(tuple(stamps))


class KernelCacheLocator(InTreeCacheLocator):
    """numba cache locator for udfs/kernels: package-wide source stamp, usual directory."""

    def __init__(self, py_func: Any, py_file: str) -> None:
        """Cache next to the module (__pycache__), or under NUMBA_CACHE_DIR when set."""
        super().__init__(py_func, py_file)
        if config.CACHE_DIR:
            subpath = self.get_suitable_cache_subpath(py_file)
            self._cache_path = os.path.join(config.CACHE_DIR, subpath)

    def get_source_stamp(self) -> str:
        """The whole kernel package's hash: a change in any kernel module invalidates all."""
        return kernels_source_hash()

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> KernelCacheLocator | None:
        """This locator for functions defined in udfs/kernels; None (next locator) otherwise."""
        if Path(py_file).resolve().parent != KERNELS_DIR:
            return None
        return super().from_function(py_func, py_file)


if KernelCacheLocator not in CacheImpl._locator_classes:
    CacheImpl._locator_classes.insert(0, KernelCacheLocator)

jit = njit(cache=True, nogil=True, error_model="numpy")
# Also lets LLVM fuse a multiply and an add into one FMA instruction (one rounding, half
# the latency on a recursion's dependency chain), as TA-Lib's own build does. Only for
# TA-Lib-style recursions: kernels that reproduce pandas bit for bit must not use it.
jit_fma = njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
# For a row step several kernels share: numba pastes its IR into each caller's loop, so
# the caller compiles as if the code were written there (a plain `jit` call to a step
# holding a loop stays a call: 3.6x slower on rolling_var's step). Check the timing of
# each caller: an array argument can leave a reference-count call per row (see variance).
jit_inline = njit(inline="always", nogil=True, error_model="numpy")
