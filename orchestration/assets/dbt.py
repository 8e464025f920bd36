"""dbt models as assets, in three stages around the Python assets they feed and read."""

import os
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.dbt_manifest import ensure_manifest
from orchestration.resources import WarehouseResource

MANIFEST = ensure_manifest()
# A test runs with the stage that builds the last of its parents, never before them
# (dbt's default "eager" would run signal tests in the bar stage of a partial build).
# dagster-dbt overrides this with "empty" when asset checks are deselected.
os.environ.setdefault("DBT_INDIRECT_SELECTION", "buildable")
# Python assets sit between the stages: UDF features read the prepared bars and
# dbt reads them back; backtests read the joined features and dbt models their results.
PYTHON_FED = "source:features+ source:backtests+"


class SignalyardTranslator(DagsterDbtTranslator):
    """Models keyed `<schema>/<model>` and grouped by folder; sources keep their meta keys."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        """`<schema>/<name>` for models; sources use `meta.dagster.asset_key`."""
        if dbt_resource_props["resource_type"] == "model":
            return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """The model's folder: staging, intermediate, marts or signals."""
        return dbt_resource_props.get("schema")


TRANSLATOR = SignalyardTranslator()


def _build(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    args = ["build", "--vars", warehouse.dbt_vars()]
    invocation = dbt.cli(args, context=context, target_path=warehouse.dbt_target_path())
    yield from invocation.stream()


def _dbt_stage(name: str, select: str, exclude: str | None, description: str) -> Any:
    """One @dbt_assets definition over a selection, building it with `dbt build`."""

    @dbt_assets(
        manifest=MANIFEST,
        select=select,
        exclude=exclude,
        dagster_dbt_translator=TRANSLATOR,
        name=name,
    )
    def stage(
        context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
    ) -> Iterator[Any]:
        yield from _build(context, dbt, warehouse)

    stage.__doc__ = description
    return stage


dbt_bars = _dbt_stage(
    "dbt_bars",
    "fqn:*",
    PYTHON_FED,
    "Staging and bar models: typed, deduplicated, resampled, SQL features.",
)
dbt_features = _dbt_stage(
    "dbt_features",
    "source:features+",
    "source:backtests+",
    "UDF features joined with the SQL features and alternative data.",
)
dbt_results = _dbt_stage(
    "dbt_results",
    "source:backtests+",
    None,
    "Trades, statistics, point-in-time selections and the signal tables.",
)
