"""The demo: a simulated regency network of real packets in a private namespace."""
