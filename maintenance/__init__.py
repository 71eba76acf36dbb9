"""Maintenance: one package per domain (work orders, assets, PM, stock, suppliers, ...).

Importing the package registers every domain's models (:mod:`maintenance.all_models`), so a
relationship named by string always finds its target, and subscribes every cross-domain hook
(:mod:`maintenance.reactions`), whichever module a process imports first.
"""

import maintenance.all_models
import maintenance.reactions  # noqa: F401
