"""The Zoho sandbox's field metadata as a field-metadata source, without starting the sandbox.

The same JSON that ``GET /crm/v8/settings/fields?module=`` answers on the sandbox, for
checking and previewing mappings in unit and functional tests.
"""

from __future__ import annotations

from chalicelib.zoho.fields import StaticFieldMetadata
from devstack.zoho_sandbox.schema import MODULES, field_metadata


def sandbox_fields() -> StaticFieldMetadata:
    """Leads, Contacts, Accounts and Deals as the sandbox describes them."""
    return StaticFieldMetadata({
        name: [field_metadata(spec) for spec in module.fields] for name, module in MODULES.items()
    })
