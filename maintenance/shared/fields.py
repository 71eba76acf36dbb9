"""Field types the API's schemas share: codes, ids, months, quantities, money, JSON numbers.

One definition of each, so that a code, a quantity or an amount is bounded the same way in every
domain's requests and the OpenAPI schema declares the same constraint wherever it appears.
Numbers are taken only as JSON numbers (``"3"`` and ``true`` are refused): a string that looks
like a number is a client bug to report, not to guess at.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictFloat, StrictInt

__all__ = [
    "CODE",
    "MAX_AMOUNT",
    "PERIOD",
    "RECORD_CODE",
    "Code",
    "Id",
    "Money",
    "Number",
    "Period",
    "Qty",
    "RecordCode",
    "json_number",
]

#: The largest quantity or amount any field takes (a billion: no facility books more).
MAX_AMOUNT = Decimal("1e9")
#: Supplier and contract codes appear in URL paths: no slashes, no spaces.
CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
#: Asset, item and storeroom codes may name a device channel (``plug-7/switch:1``).
RECORD_CODE = r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,63}$"
#: A calendar month.
PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"


def json_number(value: Any) -> Any:
    """Let only JSON numbers through (not strings, not booleans) before Decimal parsing."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a JSON number")
    return value


Code = Annotated[str, Field(min_length=1, max_length=64, pattern=CODE)]
RecordCode = Annotated[str, Field(min_length=1, max_length=64, pattern=RECORD_CODE)]
Period = Annotated[str, Field(pattern=PERIOD, description="a month, YYYY-MM")]
Number = Annotated[StrictFloat | StrictInt, Field(allow_inf_nan=False)]
Id = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]
Qty = Annotated[
    Decimal,
    BeforeValidator(json_number),
    Field(gt=0, le=MAX_AMOUNT, max_digits=13, decimal_places=3, allow_inf_nan=False),
]
Money = Annotated[
    Decimal,
    BeforeValidator(json_number),
    Field(ge=0, le=MAX_AMOUNT, max_digits=14, decimal_places=4, allow_inf_nan=False),
]
