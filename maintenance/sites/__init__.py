"""Sites: the places the organisation looks after, each with its own time zone."""
