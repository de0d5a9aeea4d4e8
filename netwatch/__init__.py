"""netwatch: network and Wi-Fi monitoring for village free Wi-Fi."""

__version__ = "0.1.0"
