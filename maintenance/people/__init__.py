"""People and machines that use the system: users, roles, tokens, API keys, log-in throttle."""
