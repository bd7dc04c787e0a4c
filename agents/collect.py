"""A Mesa ``DataCollector`` that records per-agent state of engine rows column-wise instead of agent by agent.

Mesa's collector calls every reporter on every agent (a Python call per agent and value); for the
pool's hundreds of groups that cost as much as the engine's day. Reporters given as attribute names
of a :class:`~agents.views.PoolAgent` kind are read here as whole arrays and stored in the very
records Mesa stores (``(step, unique_id, *values)`` tuples), so ``get_agenttype_vars_dataframe`` and
``batch_run`` see no difference; any other reporter runs Mesa's way. Tied to Mesa 3.3's collector
internals (the ``[mesa]`` extra pins that minor release).
"""

from __future__ import annotations

from typing import Any

from sim.extras import require

require("mesa", "agents.collect (the Mesa adapter)")
import mesa  # noqa: E402  (after the check, so a missing Mesa is named in one line)

from agents.views import PoolAgent, RowSet  # noqa: E402


class PoolDataCollector(mesa.DataCollector):
    """``mesa.DataCollector`` reading column reporters of engine-backed agents as arrays (same records)."""

    def _new_agenttype_reporter(self, agent_type: Any, name: str, reporter: Any) -> None:
        """Register as Mesa does, remembering attribute-name reporters of engine columns."""
        super()._new_agenttype_reporter(agent_type, name, reporter)
        columns = self.__dict__.setdefault("_column_reporters", {})
        is_column = (isinstance(reporter, str) and isinstance(agent_type, type) and issubclass(agent_type, PoolAgent)
                     and reporter in agent_type.columns())
        columns.setdefault(agent_type, {})[name] = reporter if is_column else None

    def _record_agenttype(self, model: Any, agent_type: Any) -> Any:
        """Records of ``agent_type``: column-wise when every reporter is an engine column, else Mesa's way."""
        attrs = self.__dict__.get("_column_reporters", {}).get(agent_type, {})
        members = model.agents_by_type.get(agent_type)
        if not attrs or None in attrs.values() or not isinstance(members, RowSet):
            return super()._record_agenttype(model, agent_type)
        rows = members.rows
        columns = [members.get(attr).tolist() for attr in attrs.values()]
        step = model.steps
        return [(step, row, *values) for row, *values in zip(rows.tolist(), *columns)]
