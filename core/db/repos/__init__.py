"""Tenant-scoped queries. Repositories flush when they must but never commit: the unit of work does."""
