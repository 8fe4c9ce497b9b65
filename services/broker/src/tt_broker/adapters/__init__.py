"""Venue adapters behind one interface (``base.BrokerAdapter``): Capital.com and the paper broker."""
