"""BACnet engineering units (ASHRAE 135 ``BACnetEngineeringUnits``) in our unit spellings.

The connector turns an object's ``units`` property into the unit string that
:func:`gateway.normalize.normalize` converts to the canonical unit of the metric's family (°F
to degC, inches of water to Pa, kW to W...). Only units with a clear meaning for facility data
are listed: a unit that is missing here is not guessed, the reading is rejected with reason
``bad_unit`` until the point declares ``unit:`` itself, because a plausible-looking number in
the wrong unit (a pressure in psi read as Pa) is worse than no number.

Keys are bacpypes3's spelling of the enumeration (``degrees-celsius``); :func:`unit_of` also
accepts the camelCase form of the standard (``degreesCelsius``).
"""

from __future__ import annotations

__all__ = ["BACNET_UNITS", "unit_of"]

#: BACnet engineering unit → the unit string the gateway converts from ("" = a plain number)
BACNET_UNITS: dict[str, str] = {
    # temperature
    "degrees-celsius": "degC",
    "degrees-fahrenheit": "degF",
    "degrees-kelvin": "kelvin",
    # humidity and ratios
    "percent": "%",
    "percent-relative-humidity": "%",
    "no-units": "",
    "power-factor": "1",
    # pressure
    "pascals": "Pa",
    "hectopascals": "hPa",
    "kilopascals": "kPa",
    "millibars": "mbar",
    "bars": "bar",
    "pounds-force-per-square-inch": "psi",
    "inches-of-water": "inH2O",
    "inches-of-mercury": "inHg",
    "centimeters-of-water": "cmH2O",
    "millimeters-of-water": "mmH2O",
    # power
    "watts": "W",
    "kilowatts": "kW",
    "megawatts": "megawatt",
    "btus-per-hour": "Btu/h",
    "kilo-btus-per-hour": "kBtu/h",
    "tons-refrigeration": "ton_of_refrigeration",
    # energy
    "watt-hours": "Wh",
    "kilowatt-hours": "kWh",
    "megawatt-hours": "megawatt_hour",
    "kilojoules": "kJ",
    "megajoules": "MJ",
    # electrical
    "volts": "V",
    "millivolts": "mV",
    "kilovolts": "kV",
    "amperes": "A",
    "milliamperes": "mA",
    "hertz": "Hz",
    "volt-amperes": "VA",
    "kilovolt-amperes": "kVA",
    # flow
    "cubic-meters-per-hour": "m^3/h",
    "cubic-meters-per-second": "m^3/s",
    "cubic-feet-per-minute": "ft^3/min",
    "liters-per-second": "L/s",
    "liters-per-minute": "L/min",
    "us-gallons-per-minute": "gal/min",
    # speed, light, air quality
    "revolutions-per-minute": "rpm",
    "meters-per-second": "m/s",
    "feet-per-minute": "ft/min",
    "luxes": "lx",
    "parts-per-million": "ppm",
    # time
    "seconds": "s",
    "minutes": "min",
    "hours": "h",
}


def unit_of(bacnet_unit: str) -> str | None:
    """Our unit for a BACnet unit name (either spelling), or ``None`` when it is not mapped."""
    text = bacnet_unit.strip()
    if text in BACNET_UNITS:
        return BACNET_UNITS[text]
    hyphenated = "".join("-" + ch.lower() if ch.isupper() else ch for ch in text).strip("-")
    return BACNET_UNITS.get(hyphenated)
