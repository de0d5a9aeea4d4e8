"""Exporters: read state, never write it. Installed as ``netwatch.exporters``."""
