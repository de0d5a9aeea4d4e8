"""Push netwatch's data to InfluxDB: line protocol, batching, retries, a durable spool."""

from netwatch.exporters.influxdb.exporter import InfluxExporter

__all__ = ["InfluxExporter"]
