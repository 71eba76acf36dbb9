"""Spare parts and supplies: the stock ledger, reservations, parts issued to orders."""
