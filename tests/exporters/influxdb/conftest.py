from tests.helpers.influxdb1 import influxdb1  # noqa: F401
from tests.helpers.victoriametrics import victoriametrics  # noqa: F401
