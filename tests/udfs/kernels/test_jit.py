"""Kernel machine code is cached per version of the whole kernel package."""

from __future__ import annotations

from pathlib import Path

from numba.core.caching import CacheImpl

import udfs.kernels.rolling as rolling
from udfs.kernels.jit import KERNELS_DIR, KernelCacheLocator, kernels_source_hash


def test_kernel_locator_comes_first_and_covers_only_the_kernel_package():
    assert CacheImpl._locator_classes[0] is KernelCacheLocator
    func = rolling.rolling_sum.py_func
    locator = KernelCacheLocator.from_function(func, rolling.__file__)
    assert locator is not None
    assert locator.get_source_stamp() == kernels_source_hash()
    other = Path(__file__)
    assert (
        KernelCacheLocator.from_function(test_kernel_hash_changes_with_any_kernel_file, str(other))
        is None
    )


def test_kernel_hash_changes_with_any_kernel_file(tmp_path, monkeypatch):
    import udfs.kernels.jit as jit_module

    copy = tmp_path / "kernels"
    copy.mkdir()
    for path in KERNELS_DIR.glob("*.py"):
        (copy / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(jit_module, "KERNELS_DIR", copy)
    before = jit_module.kernels_source_hash()
    assert before == kernels_source_hash()  # same bytes, same stamp
    (copy / "rolling.py").write_text((copy / "rolling.py").read_text() + "\n# edited\n")
    assert jit_module.kernels_source_hash() != before


def test_kernels_release_the_gil_and_keep_ieee_division():
    options = rolling.rolling_sum.targetoptions
    assert options["nogil"] and options["error_model"] == "numpy"
    assert rolling.rolling_sum._cache is not None
