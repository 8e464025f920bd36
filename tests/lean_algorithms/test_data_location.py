"""The live switch of signal_data.py: backtests read the data folder, live the ObjectStore."""

from __future__ import annotations

import os
import sys

import lean_double
from lean_replay import LoadAlgorithm


def test_backtest_reads_the_data_folder_and_live_the_object_store_key(
    load_algorithm: LoadAlgorithm,
) -> None:
    load_algorithm("SignalWeights")
    signal_data = sys.modules["signal_data"]
    key = signal_data.weights_key("s1", "BTCUSDT")
    medium = lean_double.SubscriptionTransportMedium
    assert signal_data.data_location(key, False) == (
        os.path.join(lean_double.Globals.data_folder, key),
        medium.LOCAL_FILE,
    )
    assert signal_data.data_location(key, True) == (key, medium.OBJECT_STORE)
