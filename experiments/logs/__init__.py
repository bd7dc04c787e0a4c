"""A brand's own logs as siyu reads them: transactions and contacts exported from a CRM.

:func:`~experiments.logs.transactions.read_transactions` and :func:`~experiments.logs.contacts.read_contacts`
check every row, report each kind of bad row with
its line numbers and count (nothing is dropped silently) and fail in one line when too little is left.
Calibration, forecasting and off-policy evaluation read logs only through them.
"""
