"""Zoho's field metadata for the console's previews, through a stage's connections (I/O).

The same client and cache as ``zwa mapping preview`` (``zwa.mapping_check``):
the metadata source of a connection and the API domain its PUTs go to. Asking
for them reads the connection's token, so either may raise ``DeliveryError``
or ``UnavailableError``; the preview page then previews offline and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from chalicelib.zoho.fields import FieldMetadataSource
from zwa.mapping_check import fields_and_domain
from zwa.stage import Stage

# connection name -> (its field metadata, its API domain)
FieldMetadataFor = Callable[[str], tuple[FieldMetadataSource, str]]


def stage_field_metadata(stage: Stage) -> FieldMetadataFor:
    """The field metadata of ``stage``'s connections, each read when a preview asks."""
    return partial(fields_and_domain, stage)
