"""The run loop that drives the ports: it imports only the domain and the standard library."""
