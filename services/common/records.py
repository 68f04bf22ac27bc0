"""Domain records: frozen dataclasses that also read like the dicts the product docs show."""

from __future__ import annotations

import dataclasses
from typing import Any


class Record:
    """A dataclass mixin: `record["field"]` reads `record.field`, as in the documented examples."""

    def __getitem__(self, key: str) -> Any:
        if key not in {f.name for f in dataclasses.fields(self)}:  # type: ignore[arg-type]
            raise KeyError(key)
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a plain dict."""
        return dataclasses.asdict(self)  # type: ignore[call-overload, no-any-return]
