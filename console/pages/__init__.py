"""The console's pages, one module per domain or screen family, each with its own ``router``.

Every page is server-rendered and works without JavaScript; ``console.js`` only adds the live
values (server-sent events) and auto-submitting filters. Every form post checks the CSRF token,
and every change goes through the service that owns the rule (the same call the API route
makes) with the caller's role. The pages share what sits below them (:mod:`console._render`,
:mod:`console._labels`, :mod:`console._forms`) and never each other;
:mod:`console._app` includes their routers.
"""
