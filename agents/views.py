"""Mesa agents that are windows onto rows of the engine's arrays, and an AgentSet over those rows.

Why not one ``mesa.Agent`` per customer: Mesa keeps every agent in weak dictionaries and loops over
Python objects, which costs microseconds and hundreds of bytes per agent (see ``benchmarks/mesa_overhead.py``;
a million customers would cost seconds and about a gigabyte before the first day). Here an agent is
made only when somebody looks at it; :class:`RowSet` is an ``AgentSet`` whose members are row indices,
so ``select``, ``agg``, ``groupby``, ``get``, ``set`` and ``sort`` run on numpy arrays over all rows,
and iterating yields agents made on the fly (the same object while it is referenced).

Every attribute of an agent is a :class:`Column`: reading it reads the engine's array, writing it
writes there (a what-if between two days), so there is no copy to keep in step.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.defaults import ACTIVE, DROPPED, STAGES
from sim.extras import require

require("mesa", "agents (the Mesa adapter)")
import mesa  # noqa: E402  (after the check, so a missing Mesa is named in one line)
from mesa.agent import AgentSet, GroupBy  # noqa: E402

if TYPE_CHECKING:
    from agents.mesa_model import PoolModel

Source = Callable[["PoolModel"], np.ndarray]
"""Where a column lives: the engine array (whole, all rows) for a model."""
_STAGE_NAMES = np.array(STAGES)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar (agents hand out plain values, like any Mesa agent)."""
    return value.item() if isinstance(value, np.generic) else value


class Column:
    """One attribute of an agent kind, read from and written to an engine array.

    ``decode`` maps stored codes to what users see (stage names, booleans) and ``encode`` back; both
    work on a scalar or an array. Read-only columns (derived from several arrays) have no ``encode``.
    """

    def __init__(self, source: Source, doc: str, decode: Callable[[Any], Any] | None = None,
                 encode: Callable[[Any], Any] | None = None, writable: bool = True) -> None:
        """A column over ``source``; ``writable=False`` refuses assignment."""
        self.source, self.decode, self.encode, self.writable = source, decode, encode, writable
        self.__doc__ = doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        """Remember the attribute name (for error messages)."""
        self.name = name

    def values(self, model: PoolModel, rows: Any) -> Any:
        """The column at ``rows`` (an int or an index array)."""
        raw = self.source(model)[rows]
        return raw if self.decode is None else self.decode(raw)

    def assign(self, model: PoolModel, rows: Any, value: Any) -> None:
        """Write ``value`` (scalar or array) into the engine at ``rows``."""
        if not self.writable:
            raise AttributeError(f"{self.name} is derived from the engine's state and cannot be set")
        self.source(model)[rows] = value if self.encode is None else self.encode(value)

    def __get__(self, agent: Any, owner: type | None = None) -> Any:
        """The agent's value as a Python scalar (the descriptor itself on the class)."""
        if agent is None:
            return self
        return _plain(self.values(agent.model, agent.row))

    def __set__(self, agent: Any, value: Any) -> None:
        """Write the agent's value into the engine."""
        self.assign(agent.model, agent.row, value)


def _state(name: str) -> Source:
    return lambda m: getattr(m.simulation.state, name)


def _groups(name: str) -> Source:
    return lambda m: getattr(m.simulation.groups, name)


class RowColumn(Column):
    """A read-only attribute computed from the row number itself (no engine array behind it)."""

    def __init__(self, compute: Callable[[PoolModel, Any], Any], doc: str) -> None:
        """``compute(model, rows)`` gives the values at ``rows`` (an int or an index array)."""
        super().__init__(lambda m: np.empty(0), doc, writable=False)
        self.compute = compute

    def values(self, model: PoolModel, rows: Any) -> Any:
        """The computed values at ``rows``."""
        return self.compute(model, rows)


def _stage_code(value: Any) -> Any:
    """Stage name(s) to the engine's int8 code(s); an unknown name is one line naming the allowed ones."""
    names = np.asarray(value)
    codes = np.full(names.shape, -1, np.int8)
    for code, name in enumerate(STAGES):
        codes[names == name] = code
    if (codes < 0).any():
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {names[codes < 0].ravel()[0]!r}")
    return codes if names.ndim else codes.item()


class PoolAgent(mesa.Agent):
    """A view of one row of an engine array; made on demand, never registered with the model.

    ``unique_id`` is the row, unique within the agent's kind. Agents join and leave the pool through
    the engine, so :meth:`remove` is refused.
    """

    kind = "row"
    """Name of the kind in messages."""

    def __init__(self, model: PoolModel, row: int) -> None:
        """The view of ``row`` (does not call Mesa's registration: the row set is the registry)."""
        self.model = model
        self.row = int(row)
        self.unique_id = self.row
        self.pos = None

    @classmethod
    def count(cls, model: PoolModel) -> int:
        """How many rows of this kind exist in ``model`` now."""
        raise NotImplementedError

    @classmethod
    def columns(cls) -> dict[str, Column]:
        """The kind's attributes that are engine columns, by name."""
        return {k: v for klass in reversed(cls.__mro__) for k, v in vars(klass).items() if isinstance(v, Column)}

    def remove(self) -> None:
        """Refused: customers, groups and guides come and go through the engine's rules."""
        raise TypeError(f"a {self.kind} leaves the pool through the engine, not by remove()")

    def __repr__(self) -> str:
        """``CustomerAgent(row=17)``."""
        return f"{type(self).__name__}(row={self.row})"


class CustomerAgent(PoolAgent):
    """One customer: traits, hidden state and CRM record, read from and written to the engine's arrays."""

    kind = "customer"
    value = Column(_state("value"), "List price of the customer's usual order (yuan).")
    price_sens = Column(_state("price_sens"), "Deal-proneness, 0-1.")
    receptive = Column(_state("receptive"), "Receptiveness to new products, 0-1.")
    cycle = Column(_state("cycle"), "Personal repurchase cycle (days).")
    dropout = Column(_state("dropout"), "Base hazard of leaving the category (1/day).")
    referral = Column(_state("referral"), "Referral propensity as an advocate with full trust (1/day).")
    salience = Column(_state("salience"), "How present the brand is in the customer's mind, 0-1 (hidden).")
    fatigue = Column(_state("fatigue"), "Accumulated annoyance from contacts, >= 0 (hidden).")
    trust = Column(_state("trust"), "Trust in the brand, 0-1 (hidden).")
    deal = Column(_state("deal"), "Discount the customer has learned to wait for, 0-1 (hidden).")
    need_clock = Column(_state("need_clock"), "Days since the customer's need was last met.")
    status = Column(_state("status"), "0 active, 1 dropped (left for good).")
    reach = Column(_state("reach"), "Bit c set while channel c reaches the customer.")
    last_purchase = Column(_state("last_purchase"), "Day of the last purchase from the brand.")
    first_purchase = Column(_state("first_purchase"), "Day of the first purchase.")
    frequency = Column(_state("frequency"), "Purchases from the brand.")
    monetary = Column(_state("monetary"), "Yuan spent with the brand.")
    last_contact = Column(_state("last_contact"), "Day of the last contact.")
    tier = Column(_state("tier"), "Member tier: 0 fan, 1-3 by spend.")
    account = Column(_state("account"), "Where the guide holds the 1:1 chat (WeCom or personal).")
    origin = Column(_state("origin"), "How the customer joined (index into sim.defaults.ORIGINS).")
    stage = Column(_state("stage"), "5A stage name: " + ", ".join(STAGES) + ".",
                   decode=lambda v: _STAGE_NAMES[v], encode=lambda v: _stage_code(v))
    reachable = Column(_state("reach"), "Whether any channel still reaches the customer.",
                       decode=lambda v: v != 0, writable=False)
    active = Column(_state("status"), "Whether the customer is still in the pool (not dropped).",
                    decode=lambda v: v == ACTIVE, encode=lambda v: np.where(v, ACTIVE, DROPPED).astype(np.uint8))
    group = RowColumn(lambda m, rows: np.asarray(rows) // m.simulation.groups.size,
                      "Index of the customer's WeChat group.")

    @classmethod
    def count(cls, model: PoolModel) -> int:
        """Customers who have joined so far (dropped ones included: select ``active`` to skip them)."""
        return model.simulation.joined


class GroupAgent(PoolAgent):
    """One WeChat group: heat, complaint damage, members and its cumulative tally."""

    kind = "group"
    heat = Column(_groups("heat"), "Activity of the group, 0-1.")
    damage = Column(_groups("damage"), "Share of conversion lost to public complaints, 0-1.")
    alive = Column(_groups("alive"), "Whether the group is still read.", decode=lambda v: v != 0,
                   encode=lambda v: np.asarray(v, np.uint8))
    formed = Column(_groups("formed"), "Whether the group has had members.", decode=lambda v: v != 0,
                    writable=False)
    members = Column(_groups("members"), "Active members reachable on the group channel.", writable=False)
    open_factor = Column(_groups("open_factor"), "Multiplier of group open rates tomorrow.")
    conv_factor = Column(_groups("conv_factor"), "Multiplier of group conversion tomorrow.")
    contacts = Column(lambda m: m.simulation.groups.tally[:, 0], "Group-channel contacts so far.", writable=False)
    opens = Column(lambda m: m.simulation.groups.tally[:, 1], "Group-channel opens so far.", writable=False)
    purchases = Column(lambda m: m.simulation.groups.tally[:, 2], "Group-channel purchases so far.",
                       writable=False)
    complaints = Column(lambda m: m.simulation.groups.tally[:, 3], "Public complaints so far.", writable=False)

    @classmethod
    def count(cls, model: PoolModel) -> int:
        """Groups covering the customers who have joined."""
        return -(-model.simulation.joined // model.simulation.groups.size)

    @property
    def customers(self) -> RowSet:
        """The group's customers (its block of rows, members or not)."""
        size = self.model.simulation.groups.size
        rows = np.arange(self.row * size, min((self.row + 1) * size, self.model.simulation.joined))
        return RowSet(self.model, [(CustomerAgent, rows)])


class StaffAgent(PoolAgent):
    """One store guide (导购) holding 1:1 chats with a block of customers."""

    kind = "guide"
    quality = Column(lambda m: m.simulation.world.quality, "1:1 service quality tomorrow, 0-1.")

    @classmethod
    def count(cls, model: PoolModel) -> int:
        """Guides serving the customers who have joined (none without a staff model)."""
        per = model.simulation.per_guide
        return -(-model.simulation.joined // per) if per > 0 else 0

    @property
    def customers(self) -> RowSet:
        """The guide's customers (a block of rows)."""
        per = self.model.simulation.per_guide
        rows = np.arange(self.row * per, min((self.row + 1) * per, self.model.simulation.joined))
        return RowSet(self.model, [(CustomerAgent, rows)])


Part = tuple[type[PoolAgent], "np.ndarray | None"]
"""An agent kind and its rows (None: every row of the kind, as many as exist at the time)."""


class Columns:
    """All rows of a part at once: ``cols.fatigue`` is an array; what vectorised filters are called with."""

    def __init__(self, model: PoolModel, kind: type[PoolAgent], rows: np.ndarray) -> None:
        """Columns of ``kind`` at ``rows``."""
        self.model, self._kind, self._rows = model, kind, rows

    def __getattr__(self, name: str) -> Any:
        """The column ``name`` at this part's rows; ``row`` gives the rows themselves."""
        if name == "row":
            return self._rows
        column = self._kind.columns().get(name)
        if column is None:
            raise AttributeError(name)
        return column.values(self.model, self._rows)


class RowSet(AgentSet):
    """A Mesa ``AgentSet`` over rows of the engine's arrays, one or several agent kinds.

    It behaves like Mesa's ``AgentSet`` with three documented differences: ``get`` returns a numpy
    array (a list for several attributes), a ``select`` or ``groupby`` callable is first tried once on
    whole columns (``lambda c: c.fatigue > 0.5`` is vectorised; anything that does not give a boolean
    array of the right length runs per agent), and members cannot be added or removed by hand.
    """

    def __init__(self, model: PoolModel, parts: Iterable[Part]) -> None:
        """The rows ``parts`` of ``model``, in order."""
        self.model = model
        self._parts = [(kind, None if rows is None else np.asarray(rows, np.int64)) for kind, rows in parts]
        self.random = model.random

    # --- members --------------------------------------------------------------------------------
    def parts(self) -> list[tuple[type[PoolAgent], np.ndarray]]:
        """The kinds and their rows, resolved now."""
        return [(kind, np.arange(kind.count(self.model)) if rows is None else rows) for kind, rows in self._parts]

    @property
    def rows(self) -> np.ndarray:
        """The rows of a one-kind set (int64)."""
        parts = self.parts()
        if len({k for k, _ in parts}) != 1:
            raise TypeError("rows is defined for a set of one agent kind; use parts()")
        return np.concatenate([r for _, r in parts])

    def __len__(self) -> int:
        """Number of agents now."""
        return sum(int(r.shape[0]) for _, r in self.parts())

    def __iter__(self) -> Iterator[PoolAgent]:
        """The agents, made on the fly."""
        for kind, rows in self.parts():
            for row in rows:
                yield self.model.agent(kind, int(row))

    def __contains__(self, agent: object) -> bool:
        """Whether ``agent`` views a row of this set."""
        if not isinstance(agent, PoolAgent) or agent.model is not self.model:
            return False
        return any(isinstance(agent, kind) and bool(np.any(rows == agent.row)) for kind, rows in self.parts())

    def __getitem__(self, item: int | slice) -> Any:
        """The agent at position ``item`` (a list of agents for a slice, as in Mesa)."""
        if isinstance(item, slice):
            return list(self)[item]
        index = item + len(self) if item < 0 else item
        for kind, rows in self.parts():
            if index < rows.shape[0]:
                return self.model.agent(kind, int(rows[index]))
            index -= rows.shape[0]
        raise IndexError(f"agent index {item} out of range for {len(self)} agents")

    def add(self, agent: Any) -> None:
        """Refused: the engine decides who is in the pool."""
        raise TypeError("agents join the pool through the engine; select() makes subsets")

    discard = remove = add

    def _update(self, agents: Iterable[Any]) -> RowSet:
        self._parts = agents._parts if isinstance(agents, RowSet) else _parts_of(agents)
        return self

    def __getstate__(self) -> dict[str, Any]:
        """Picklable: the model and the parts."""
        return {"model": self.model, "parts": self._parts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild from :meth:`__getstate__`."""
        self.__init__(state["model"], state["parts"])

    # --- whole-column operations ----------------------------------------------------------------
    def _column(self, kind: type[PoolAgent], rows: np.ndarray, attr: str, missing: str, default: Any) -> Any:
        column = kind.columns().get(attr)
        if column is not None:
            return column.values(self.model, rows)
        if hasattr(kind, attr):  # a plain property or method: per agent
            return np.array([getattr(self.model.agent(kind, int(r)), attr) for r in rows])
        if missing == "default":
            return np.full(rows.shape[0], default)
        raise AttributeError(f"{kind.__name__} has no attribute {attr!r}")

    def get(self, attr_names: str | list[str], handle_missing: str = "error", default_value: Any = None) -> Any:
        """The values of attribute(s) of every agent: an array for one name, a list of rows for several."""
        if isinstance(attr_names, str):
            values = [self._column(k, r, attr_names, handle_missing, default_value) for k, r in self.parts()]
            return np.concatenate(values) if values else np.array([])
        columns = [self.get(a, handle_missing, default_value) for a in attr_names]
        return [list(row) for row in zip(*columns)]

    def agg(self, attribute: str, func: Callable | Iterable[Callable]) -> Any:
        """``func`` applied to the array of ``attribute`` (several functions give a list)."""
        values = self.get(attribute)
        return func(values) if callable(func) else [f(values) for f in func]

    def set(self, attr_name: str, value: Any) -> RowSet:
        """Write ``value`` (a scalar, or an array in member order) into the engine for every member."""
        start = 0
        for kind, rows in self.parts():
            column = kind.columns().get(attr_name)
            if column is None:
                raise AttributeError(f"{kind.__name__} has no engine column {attr_name!r}")
            part = value[start:start + rows.shape[0]] if np.ndim(value) else value
            column.assign(self.model, rows, part)
            start += rows.shape[0]
        return self

    def _mask(self, func: Callable[[Any], Any], kind: type[PoolAgent], rows: np.ndarray) -> np.ndarray:
        """``func`` over every row: once on whole columns when it gives an array, else agent by agent."""
        try:
            out = func(Columns(self.model, kind, rows))
            if isinstance(out, np.ndarray) and out.shape == rows.shape:
                return out
        except Exception:  # noqa: BLE001 - anything not vectorisable runs per agent below
            pass
        return np.array([func(self.model.agent(kind, int(r))) for r in rows], dtype=object).reshape(rows.shape)

    def select(self, filter_func: Callable[[Any], bool] | None = None, at_most: int | float = float("inf"),
               inplace: bool = False, agent_type: type | None = None) -> RowSet:
        """Members passing ``filter_func`` and of ``agent_type``, the first ``at_most`` (a float <= 1: share)."""
        if isinstance(at_most, float) and at_most <= 1.0:
            at_most = int(len(self) * at_most)
        parts, left = [], at_most
        for kind, rows in self.parts():
            if agent_type is not None and not issubclass(kind, agent_type):
                continue
            if filter_func is not None:
                rows = rows[self._mask(filter_func, kind, rows).astype(bool)]
            if left != float("inf"):
                rows = rows[: max(int(left), 0)]
                left -= rows.shape[0]
            parts.append((kind, rows))
        result = RowSet(self.model, parts)
        return self._update(result) if inplace else result

    def groupby(self, by: Callable | str, result_type: str = "agentset") -> GroupBy:
        """Members grouped by an attribute or a function's value (vectorised when it can be)."""
        keyed: dict[Any, list[Part]] = {}
        for kind, rows in self.parts():
            keys = (self._column(kind, rows, by, "error", None) if isinstance(by, str)
                    else self._mask(by, kind, rows))
            uniques, inverse = np.unique(keys, return_inverse=True)
            for i, key in enumerate(uniques):
                keyed.setdefault(_plain(key), []).append((kind, rows[inverse.ravel() == i]))
        groups = {k: RowSet(self.model, p) for k, p in keyed.items()}
        if result_type != "agentset":
            return GroupBy({k: list(v) for k, v in groups.items()})
        return RowGroupBy(groups)

    def sort(self, key: Callable[[Any], Any] | str, ascending: bool = False, inplace: bool = False) -> RowSet:
        """Members ordered by an attribute (vectorised, stable) or a key function."""
        parts = self.parts()
        if isinstance(key, str) and len(parts) == 1:
            kind, rows = parts[0]
            order = np.argsort(self._column(kind, rows, key, "error", None), kind="stable")
            result = RowSet(self.model, [(kind, rows[order if ascending else order[::-1]])])
        else:
            getter = (lambda a: getattr(a, key)) if isinstance(key, str) else key
            result = RowSet(self.model, _parts_of(sorted(self, key=getter, reverse=not ascending)))
        return self._update(result) if inplace else result

    def shuffle(self, inplace: bool = False) -> RowSet:
        """Members in a random order drawn from the model's ``random`` (seeded)."""
        agents = list(self)
        self.random.shuffle(agents)
        result = RowSet(self.model, _parts_of(agents))
        return self._update(result) if inplace else result

    def do(self, method: str | Callable, *args: Any, **kwargs: Any) -> RowSet:
        """Call ``method`` on every agent (by name, or a function taking the agent), in order."""
        self.map(method, *args, **kwargs)
        return self

    def shuffle_do(self, method: str | Callable, *args: Any, **kwargs: Any) -> RowSet:
        """:meth:`do` in a random order."""
        self.shuffle().do(method, *args, **kwargs)
        return self

    def map(self, method: str | Callable, *args: Any, **kwargs: Any) -> list[Any]:
        """Call ``method`` on every agent and return the results."""
        if isinstance(method, str):
            return [getattr(a, method)(*args, **kwargs) for a in self]
        return [method(a, *args, **kwargs) for a in self]

    def __repr__(self) -> str:
        """``RowSet(customer=1000, group=4)``."""
        counts = ", ".join(f"{k.kind}={r.shape[0]}" for k, r in self.parts())
        return f"RowSet({counts})"


class RowGroupBy(GroupBy):
    """Mesa's ``GroupBy`` whose ``agg`` works on whole arrays."""

    def agg(self, attr_name: str, func: Callable) -> dict[Any, Any]:
        """``func`` of the array of ``attr_name`` in each group."""
        return {k: func(g.get(attr_name)) for k, g in self.groups.items()}


def _parts_of(agents: Iterable[PoolAgent]) -> list[Part]:
    """Parts from agents in order: consecutive agents of one kind share a part."""
    parts: list[tuple[type[PoolAgent], list[int]]] = []
    for a in agents:
        if parts and parts[-1][0] is type(a):
            parts[-1][1].append(a.row)
        else:
            parts.append((type(a), [a.row]))
    return [(k, np.array(r, np.int64)) for k, r in parts]


class AgentCache:
    """The agent viewing each row while anybody holds it, so one row is one object (weakly kept)."""

    def __init__(self) -> None:
        """An empty cache."""
        self._agents: weakref.WeakValueDictionary[tuple[type, int], PoolAgent] = weakref.WeakValueDictionary()

    def __len__(self) -> int:
        """Agents held by somebody now."""
        return len(self._agents)

    def get(self, model: PoolModel, kind: type[PoolAgent], row: int) -> PoolAgent:
        """The agent of ``kind`` at ``row``, made if nobody holds one."""
        agent = self._agents.get((kind, row))
        if agent is None:
            agent = kind(model, row)
            self._agents[(kind, row)] = agent
        return agent


__all__ = ["Column", "PoolAgent", "CustomerAgent", "GroupAgent", "StaffAgent", "RowSet", "RowGroupBy", "Columns",
           "AgentCache"]
