"""Field-bus connectors: devices the gateway polls itself instead of hearing over MQTT.

The connector's readings enter the same ingest path as MQTT messages
(:meth:`gateway.ingest.Gateway.submit`). Only configuration, decoding and planning are
re-exported here; :mod:`gateway.connectors.modbus` (which loads pymodbus) and
:mod:`gateway.connectors.bacnet` (bacpypes3) are imported by whoever starts a connector, so
``facility --help`` never pays for either.
"""

from gateway.connectors.config import (
    BacnetConfig,
    BacnetDevice,
    BacnetPoint,
    ConnectorsConfig,
    Function,
    ModbusConfig,
    ModbusDevice,
    ModbusPoint,
    load_connectors,
    parse_connectors,
)
from gateway.connectors.decode import ByteOrder, DataType, WordOrder, decode_words, encode_value
from gateway.connectors.plan import ReadRequest, plan_device, plan_reads

__all__ = [
    "BacnetConfig",
    "BacnetDevice",
    "BacnetPoint",
    "ByteOrder",
    "ConnectorsConfig",
    "DataType",
    "Function",
    "ModbusConfig",
    "ModbusDevice",
    "ModbusPoint",
    "ReadRequest",
    "WordOrder",
    "decode_words",
    "encode_value",
    "load_connectors",
    "parse_connectors",
    "plan_device",
    "plan_reads",
]
