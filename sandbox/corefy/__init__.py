"""Corefy's simulator: its Commerce private API, its hosted payment page and its signed callbacks, on this machine."""
