"""PayPal's texts: en.json (and en.<area>.json)."""
