"""The timestamp type of the models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

#: A datetime the API sent with its zone. Straight JSON decoding refuses a naive one, so
#: the converter gets it and takes it as UTC, as the API means.
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
