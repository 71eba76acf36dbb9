"""Service functions of the maintenance domain; keyword-only, one session per call."""
