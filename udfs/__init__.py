"""Feature UDFs: numba kernels behind declared schemas, `compute_features`, and runners."""

from udfs.builtin import register_builtin_features
from udfs.causality import find_lookahead
from udfs.compute import compute_features, required_columns, run_feature
from udfs.features.lags import lag_feature, register_lags
from udfs.registry import (
    FeatureSpec,
    feature_names,
    get_feature,
    output_columns,
    output_schema,
    register_feature,
    resolve,
    unregister_feature,
)

register_builtin_features()

__all__ = [
    "FeatureSpec",
    "compute_features",
    "feature_names",
    "find_lookahead",
    "get_feature",
    "lag_feature",
    "output_columns",
    "output_schema",
    "register_builtin_features",
    "register_feature",
    "register_lags",
    "required_columns",
    "resolve",
    "run_feature",
    "unregister_feature",
]
