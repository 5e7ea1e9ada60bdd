"""The web app of ``auditor serve``: the review queue, a call with its audio, managers, search.

Above the views, below the CLI: pages render the same views the commands
print (``calls``, ``show``, ``review``, ``report``, ``search``) and reviews
are written through :func:`auditor.views.review.add_review`. Starlette,
Jinja2 and uvicorn are imported only by :mod:`auditor.web.app` and
:mod:`auditor.web.server`, so importing this package costs nothing.
"""
