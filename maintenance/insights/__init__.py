"""The read side above the domains: KPIs, supplier scorecards."""
