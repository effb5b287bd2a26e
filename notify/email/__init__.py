"""Email receipts through the shop's SMTP server, with the PDF receipt attached."""
