"""A brand's own logs as siyu reads them: transactions and contacts exported from a CRM.

:func:`read_transactions` and :func:`read_contacts` check every row, report each kind of bad row with
its line numbers and count (nothing is dropped silently) and fail in one line when too little is left.
Calibration, forecasting and off-policy evaluation read logs only through them.
"""

from experiments.logs.contacts import Contacts, read_contacts
from experiments.logs.rows import LogError, LogReport
from experiments.logs.transactions import Columns, Transactions, read_transactions

__all__ = ["Columns", "Contacts", "LogError", "LogReport", "Transactions", "read_contacts", "read_transactions"]
