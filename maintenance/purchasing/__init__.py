"""Purchase orders: the bridge between suppliers and stock."""
