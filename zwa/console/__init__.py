"""The operator console: the ledger and the mappings of one stage in a browser.

``zwa --stage S console`` serves it on 127.0.0.1 only, with the operator's own
AWS credentials. Layout of the package:

- ``access``: the access token, its cookie, the CSRF token and the Host check (pure);
- ``services``: the stores and the clock the pages use, built from a stage;
- ``page``: what a view gets (the request, the services, ``render``);
- ``render``: the Jinja2 environment (autoescaped) and its filters;
- ``pages/``: one module per page, each declaring its routes;
- ``wsgi``: the WSGI application: access, routing, errors, security headers;
- ``serve``: the local HTTP server and the printed URL (I/O).

The pages only parse input and render output: every question to the ledger
goes through ``zwa.queries``, the same functions the CLI calls.
"""
