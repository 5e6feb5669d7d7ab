"""The price table behind the cost estimate: USD (or the table's currency) per 1M input and output tokens."""

from __future__ import annotations

import fnmatch
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from yamlio import load_model

DEFAULT_PRICES = Path(__file__).with_name("prices.yaml")


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: float = Field(ge=0, description="per 1M input tokens")
    output: float = Field(ge=0, description="per 1M output tokens")
    note: str = ""


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    currency: str = "USD"
    models: dict[str, Price] = {}

    def price(self, model: str) -> tuple[str, Price] | None:
        """(the entry that prices ``model``, its price): an exact name first, then the first matching glob."""
        if model in self.models:
            return model, self.models[model]
        return next(((pattern, p) for pattern, p in self.models.items() if fnmatch.fnmatchcase(model, pattern)), None)

    def cost(self, model: str, input_tokens: float, output_tokens: float) -> float | None:
        """The cost of one cell, or None when the model is not in the table (unknown is not free)."""
        found = self.price(model)
        if found is None:
            return None
        _, price = found
        return (input_tokens * price.input + output_tokens * price.output) / 1_000_000


def load_prices(path: Path | None = None) -> PriceTable:
    """The table in ``path`` (default: the one shipped with the harness); errors name file:line: field."""
    return load_model(PriceTable, path or DEFAULT_PRICES)
