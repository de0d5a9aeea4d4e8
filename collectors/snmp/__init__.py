"""SNMP collection: a lean v1/v2c engine, pysnmp for v3, vendor profiles as data."""
