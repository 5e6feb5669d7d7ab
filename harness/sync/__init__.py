"""Suites as code in Bitbucket: the organisation's scenarios, MCP servers and clients, toolkits, skills and models
kept in a Bitbucket repository and in a local SQLite database, synced both ways.

``harness sync connect`` tests an OAuth consumer's client credentials and registers the repository's push webhook;
``push`` commits each changed entity (``push.py``); ``serve`` receives the signed push webhook, applies what changed
(``inbound.py``) and runs it, posting a build status and a Code Insights report on the commit (``runs.py``);
``status`` lists every entity with its last synced commit and its error. The sync reaches Bitbucket over HTTP only,
the live service or the embedded one alike.
"""
