"""SignalWeights: trade one strategy's exported signal_weights with LEAN's Algorithm Framework."""

# LEAN projects import their API with `from AlgorithmImports import *`:
# ruff: noqa: F403, F405

from __future__ import annotations

from datetime import datetime, timedelta

from algorithm_setup import wire_signals
from AlgorithmImports import *
from signal_data import SignalWeightData


class SignalWeightsAlgorithm(QCAlgorithm):
    """Signal rows -> insights weighted |signal| -> InsightWeighting targets -> market orders."""

    def initialize(self) -> None:
        """Wire parameters, subscriptions and the framework models; no signal logic here."""
        wire_signals(self, SignalWeightData)

        insight_period = timedelta(minutes=self.get_parameter("insight_period_minutes", 2880))
        self.set_alpha(SignalWeightAlphaModel(insight_period))
        self.set_portfolio_construction(
            InsightWeightingPortfolioConstructionModel(Resolution.DAILY, PortfolioBias.LONG_SHORT)
        )
        self.set_execution(ImmediateExecutionModel())
        self.add_risk_management(
            MaximumDrawdownPercentPortfolio(self.get_parameter("max_drawdown", 0.2), True)
        )


class SignalWeightAlphaModel(AlphaModel):
    """Emits one price insight per signal row, weighted |signal|, for the traded security."""

    def __init__(self, insight_period: timedelta) -> None:
        """Insights expire after `insight_period` unless a newer row replaces them."""
        self.insight_period = insight_period
        self.symbol_data_by_symbol: dict[Symbol, SymbolData] = {}
        self.name = "SignalWeightAlphaModel"

    def update(self, algorithm: QCAlgorithm, data: Slice) -> list[Insight]:
        """Turn the signal rows that became available in this slice into insights."""
        insights = []
        for signal_symbol, row in data.get(SignalWeightData).items():
            symbol_data = self.symbol_data_by_symbol.get(signal_symbol.underlying)
            if symbol_data is None:
                continue
            insight = symbol_data.insight_for(row, self.insight_period)
            if insight is not None:
                insights.append(insight)
        return insights

    def on_securities_changed(self, algorithm: QCAlgorithm, changes: SecurityChanges) -> None:
        """Track added traded securities; cancel the insights of removed ones."""
        for security in changes.added_securities:
            if security.type == SecurityType.BASE:
                continue  # the signal subscriptions themselves
            if security.symbol not in self.symbol_data_by_symbol:
                self.symbol_data_by_symbol[security.symbol] = SymbolData(security.symbol)
        for security in changes.removed_securities:
            symbol_data = self.symbol_data_by_symbol.pop(security.symbol, None)
            if symbol_data is not None:
                symbol_data.dispose(algorithm)


class SymbolData:
    """Per traded symbol: the last signal acted on."""

    def __init__(self, symbol: Symbol) -> None:
        """Start with no signal seen."""
        self.symbol = symbol
        self.last_signal: float | None = None
        self.last_signal_time: datetime | None = None

    def insight_for(self, row: SignalWeightData, period: timedelta) -> Insight | None:
        """The insight for one row: direction from the sign, weight |signal|; None if stale."""
        if self.last_signal_time is not None and row.end_time < self.last_signal_time:
            return None
        signal = float(row.value)
        self.last_signal, self.last_signal_time = signal, row.end_time
        if signal > 0:
            direction = InsightDirection.UP
        elif signal < 0:
            direction = InsightDirection.DOWN
        else:
            direction = InsightDirection.FLAT
        tag = f"{row['strategy_id']} bar {row.time:%Y-%m-%d %H:%M:%S}"
        return Insight.price(self.symbol, period, direction, weight=abs(signal), tag=tag)

    def dispose(self, algorithm: QCAlgorithm) -> None:
        """Cancel this symbol's active insights so the portfolio model flattens it."""
        algorithm.insights.cancel([self.symbol])
