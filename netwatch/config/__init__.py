"""Configuration: load and validate the inventory YAML, edit it safely."""

from netwatch.config.errors import ConfigError, Issue
from netwatch.config.loader import default_config_path, load_inventory

__all__ = ["ConfigError", "Issue", "default_config_path", "load_inventory"]
