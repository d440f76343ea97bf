"""The sandbox's records: in memory, behind one lock, with the fields Zoho computes on write.

No I/O. Callers hold `RecordStore.lock` across a check-then-write (validation, uniqueness,
If-Unmodified-Since) so that concurrent requests see each other's writes in order. Record ids are
19-digit strings from a counter that a reset does not rewind, so an id is never reused while the
process lives (a client's cached id can then never point at another record).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .clock import RecordClock, format_zoho_datetime
from .schema import API_USER, ORG_PREFIX, USERS_BY_ID, ModuleSpec, User

FIRST_RECORD_NUMBER = 100_000_001
SYSTEM_FIELDS = ("Created_Time", "Modified_Time", "Created_By", "Modified_By")


@dataclass(frozen=True)
class WriteOptions:
    """The request-level keys that ride along a write; kept on the record for tests to read."""

    trigger_sent: bool = False
    trigger: tuple[str, ...] = ()
    skip_feature_execution: tuple[str, ...] = ()
    apply_feature_execution: tuple[str, ...] = ()

    def as_state(self, layout: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "trigger": list(self.trigger) if self.trigger_sent else None,
            "skip_feature_execution": list(self.skip_feature_execution),
            "apply_feature_execution": list(self.apply_feature_execution),
            "layout": layout,
        }


@dataclass
class StoredRecord:
    """One record: its field values (only the set ones) and what the API knows about its writes."""

    module: ModuleSpec
    id: str
    values: dict[str, Any]
    created_time: datetime
    modified_time: datetime
    created_by: User
    modified_by: User
    history: list[dict[str, Any]] = field(default_factory=list)
    last_options: dict[str, Any] | None = None
    locked: bool = False
    # When search may find it (monotonic seconds); seeded records at once.
    created_monotonic: float = float("-inf")

    def audit_details(self) -> dict[str, Any]:
        """The `details` of a SUCCESS item and of ALREADY_MODIFIED."""
        return {
            "Modified_Time": format_zoho_datetime(self.modified_time),
            "Modified_By": self.modified_by.as_actor(),
            "Created_Time": format_zoho_datetime(self.created_time),
            "id": self.id,
            "Created_By": self.created_by.as_actor(),
        }

    def as_zoho(self) -> dict[str, Any]:
        """The record as `GET /crm/v8/{module}/{id}` shows it: every field, unset ones null."""
        record: dict[str, Any] = {spec.api_name: None for spec in self.module.fields}
        record.update(self.values)
        record.update(
            {
                "id": self.id,
                "Created_Time": format_zoho_datetime(self.created_time),
                "Modified_Time": format_zoho_datetime(self.modified_time),
                "Created_By": self.created_by.as_owner(),
                "Modified_By": self.modified_by.as_owner(),
            }
        )
        return record

    def full_state(self) -> dict[str, Any]:
        return {
            "module": self.module.api_name,
            "id": self.id,
            "fields": self.as_zoho(),
            "Modified_Time": format_zoho_datetime(self.modified_time),
            "Created_Time": format_zoho_datetime(self.created_time),
            "last_trigger": (self.last_options or {}).get("trigger"),
            "last_write_options": self.last_options,
            "history_count": len(self.history),
            "history": list(self.history),
            "locked": self.locked,
        }

    @property
    def display_name(self) -> str:
        return str(self.values.get(self.module.name_field) or "")


def _unique_key(value: Any) -> str:
    return str(value).strip().casefold()


class RecordStore:
    """All records of all modules, a unique-value index and the id and auto-number counters."""

    def __init__(
        self, clock: RecordClock, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.clock = clock
        self.monotonic = monotonic
        self.lock = threading.RLock()
        self._next_number = FIRST_RECORD_NUMBER
        self._records: dict[str, dict[str, StoredRecord]] = {}
        self._unique: dict[tuple[str, str], dict[str, str]] = {}
        self._autonumbers: dict[str, int] = {}

    def reset(self) -> None:
        with self.lock:
            self._records.clear()
            self._unique.clear()
            self._autonumbers.clear()

    def new_id(self) -> str:
        with self.lock:
            number = self._next_number
            self._next_number += 1
        return f"{ORG_PREFIX}{number:09d}"

    def get(self, module: str, record_id: str) -> StoredRecord | None:
        return self._records.get(module, {}).get(record_id)

    def lookup_name(self, module: str, record_id: str) -> str | None:
        record = self.get(module, record_id)
        return None if record is None else record.display_name

    def records(self, module: str) -> list[StoredRecord]:
        with self.lock:
            return list(self._records.get(module, {}).values())

    def find_by_unique(self, module: str, api_name: str, value: Any) -> StoredRecord | None:
        record_id = self._unique.get((module, api_name), {}).get(_unique_key(value))
        return None if record_id is None else self.get(module, record_id)

    def find_duplicate(
        self, module: ModuleSpec, values: dict[str, Any], own_id: str | None
    ) -> tuple[str, StoredRecord] | None:
        """The first unique field whose new value another record already holds."""
        for spec in module.unique_fields:
            value = values.get(spec.api_name)
            if value is None:
                continue
            other = self.find_by_unique(module.api_name, spec.api_name, value)
            if other is not None and other.id != own_id:
                return spec.api_name, other
        return None

    def create(
        self,
        module: ModuleSpec,
        values: dict[str, Any],
        options: WriteOptions,
        layout: dict[str, Any] | None,
        record_id: str | None = None,
        operation: str = "insert",
    ) -> StoredRecord:
        with self.lock:
            created_time = self._seeded_time(values, "Created_Time") or self.clock.now()
            modified_time = self._seeded_time(values, "Modified_Time") or created_time
            record = StoredRecord(
                module=module,
                id=record_id or self.new_id(),
                values={},
                created_time=created_time,
                modified_time=modified_time,
                created_by=self._seeded_user(values, "Created_By"),
                modified_by=self._seeded_user(values, "Modified_By"),
            )
            fields = {k: v for k, v in values.items() if k not in SYSTEM_FIELDS and v is not None}
            fields.setdefault("Owner", API_USER.as_owner())
            self._assign_autonumber(module, fields)
            self._set_values(record, fields)
            if operation != "seed":
                record.created_monotonic = self.monotonic()
            self._records.setdefault(module.api_name, {})[record.id] = record
            self._note_write(record, operation, values, options, layout)
            return record

    def delete(self, record: StoredRecord) -> None:
        """Remove a record and its unique values; its id is never reused."""
        with self.lock:
            self._set_values(record, {})
            self._records.get(record.module.api_name, {}).pop(record.id, None)

    def indexed(self, record: StoredRecord, lag_seconds: float) -> bool:
        """Whether search finds the record yet (Zoho indexes a new record a little later)."""
        return self.monotonic() - record.created_monotonic >= lag_seconds

    def update(
        self,
        record: StoredRecord,
        values: dict[str, Any],
        append_fields: frozenset[str],
        options: WriteOptions,
        layout: dict[str, Any] | None,
    ) -> StoredRecord:
        with self.lock:
            merged = dict(record.values)
            for name, value in values.items():
                if name in append_fields and isinstance(value, list):
                    current = list(merged.get(name) or [])
                    value = current + [entry for entry in value if entry not in current]
                merged[name] = value
            self._set_values(record, {k: v for k, v in merged.items() if v is not None})
            record.modified_time = self.clock.next_after(record.modified_time)
            record.modified_by = API_USER
            self._note_write(record, "update", values, options, layout)
            return record

    def set_locked(self, module: str, record_id: str, locked: bool) -> StoredRecord | None:
        with self.lock:
            record = self.get(module, record_id)
            if record is not None:
                record.locked = locked
            return record

    def _set_values(self, record: StoredRecord, fields: dict[str, Any]) -> None:
        module = record.module
        for spec in module.unique_fields:
            index = self._unique.setdefault((module.api_name, spec.api_name), {})
            old = record.values.get(spec.api_name)
            if old is not None and index.get(_unique_key(old)) == record.id:
                del index[_unique_key(old)]
            new = fields.get(spec.api_name)
            if new is not None:
                index[_unique_key(new)] = record.id
        record.values = _with_derived_fields(module, fields)

    def _assign_autonumber(self, module: ModuleSpec, fields: dict[str, Any]) -> None:
        for spec in module.fields:
            if spec.data_type == "autonumber" and spec.api_name not in fields:
                number = self._autonumbers.get(module.api_name, 0) + 1
                self._autonumbers[module.api_name] = number
                fields[spec.api_name] = f"{module.autonumber_prefix}{number:05d}"

    def _note_write(
        self,
        record: StoredRecord,
        operation: str,
        values: dict[str, Any],
        options: WriteOptions,
        layout: dict[str, Any] | None,
    ) -> None:
        record.last_options = options.as_state(layout)
        record.history.append(
            {
                "operation": operation,
                "at": format_zoho_datetime(record.modified_time),
                "fields": sorted(values),
                "trigger": record.last_options["trigger"],
            }
        )

    @staticmethod
    def _seeded_time(values: dict[str, Any], name: str) -> datetime | None:
        text = values.get(name)
        return datetime.fromisoformat(text) if isinstance(text, str) else None

    @staticmethod
    def _seeded_user(values: dict[str, Any], name: str) -> User:
        owner = values.get(name)
        if isinstance(owner, dict):
            return USERS_BY_ID.get(str(owner.get("id")), API_USER)
        return API_USER


def _with_derived_fields(module: ModuleSpec, fields: dict[str, Any]) -> dict[str, Any]:
    """Fields Zoho computes itself: Full_Name from the name parts, Deals' Expected_Revenue."""
    derived = dict(fields)
    if module.get_field("Full_Name") is not None:
        parts = [fields.get("First_Name"), fields.get("Last_Name")]
        full_name = " ".join(str(part) for part in parts if part)
        if full_name:
            derived["Full_Name"] = full_name
        else:
            derived.pop("Full_Name", None)
    if module.get_field("Expected_Revenue") is not None:
        amount, probability = fields.get("Amount"), fields.get("Probability")
        if amount is not None and probability is not None:
            derived["Expected_Revenue"] = round(amount * probability / 100, 2)
        else:
            derived.pop("Expected_Revenue", None)
    return derived
