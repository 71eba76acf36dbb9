"""Preventive maintenance: plans, triggers (calendar, run hours, condition), the scheduler."""
