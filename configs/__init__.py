"""Package data: the default Banyuwangi inventory and the vendor profiles."""
