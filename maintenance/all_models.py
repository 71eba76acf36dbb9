"""Every domain's models, imported once so the ORM registry knows every table.

Relationships across domains name their target by string (``relationship()`` on
``Mapped[Supplier]`` under ``TYPE_CHECKING``), so that a lower domain never imports a higher one.
SQLAlchemy resolves those names when the mappers are first configured, which needs every model
class registered by then; ``maintenance/__init__.py`` imports this module so that importing any
part of ``maintenance`` is enough. Alembic's ``env.py`` reads ``Base.metadata`` after it.
"""

from __future__ import annotations

from maintenance.assets import models as assets
from maintenance.inventory import models as inventory
from maintenance.notifications import models as notifications
from maintenance.people import models as people
from maintenance.pm import models as pm
from maintenance.purchasing import models as purchasing
from maintenance.review import models as review
from maintenance.shared.base import Base
from maintenance.sites import models as sites
from maintenance.suppliers import models as suppliers
from maintenance.work_orders import models as work_orders

__all__ = ["MODEL_MODULES", "Base"]

#: The model module of each domain, lowest layer first.
MODEL_MODULES = (
    sites,
    people,
    assets,
    suppliers,
    notifications,
    work_orders,
    inventory,
    pm,
    purchasing,
    review,
)
