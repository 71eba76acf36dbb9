"""The composition root: the stack, the ``facility`` CLI, the demo and its seed, the HTTP server.

The only package that imports every other one; nothing imports it."""
