"""Suppliers and contractors: qualification, certificates, contracts, reviews."""
