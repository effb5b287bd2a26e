"""SMS receipts through Africa's Talking: settings, the sender, the wire, delivery reports (SOURCES.md)."""
