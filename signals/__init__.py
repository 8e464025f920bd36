"""Strategies, the backtest kernel, selection and signal-table publishing."""

from signals.backtest import backtest_signals

__all__ = ["backtest_signals"]
