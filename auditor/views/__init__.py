"""Views: what people read from the store: call lists, KPIs, review, search, stats, reports.

``callrow`` is the plain row every view shares; ``calls`` fills it from the
store; ``kpi`` computes the method's figures from rows (no I/O); ``reports``
writes them as a table, CSV, JSON or HTML. Imports audit and lower layers.
"""
