"""Benchmarks of signalyard against peers measured in the same run (`python -m bench`)."""
