"""Work orders: the closed loop, SLA clocks and pauses, dispatch, checklists, photos, labour."""
