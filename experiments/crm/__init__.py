"""The CRM record of a brand's customers outside the simulator: a snapshot file, or one built from logs.

:mod:`~experiments.crm.snapshot` reads and writes the snapshot and turns it into the
:class:`~sim.observation.Observation` a policy sees; :mod:`~experiments.crm.from_logs` builds it from
transactions and contacts; :mod:`~experiments.crm.plan` applies a policy to it
and writes tomorrow's contact list.
"""
