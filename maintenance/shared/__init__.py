"""What every maintenance domain stands on: ORM and schema bases, the database, hooks, roles."""
