"""HTTP: the admin listener (metrics, health, reload, API) and the status page."""
