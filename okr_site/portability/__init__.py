"""The organisation as one JSON document: export it, and import it into a new instance.

``export_organisation()`` / ``iter_export_json()`` write it, ``import_organisation()``
reads it; ``spec`` says what it holds. The management commands ``export_organisation``
and ``import_organisation`` and the admins' download at ``/export/organisation.json``
call these.
"""

from __future__ import annotations

from okr_site.portability.exporting import export_organisation, iter_export_json
from okr_site.portability.importing import (
    ImportRefused,
    import_organisation,
    load_document,
    validate,
)
from okr_site.portability.spec import FORMAT, SECTIONS, VERSION

__all__ = [
    "FORMAT",
    "SECTIONS",
    "VERSION",
    "ImportRefused",
    "export_organisation",
    "import_organisation",
    "iter_export_json",
    "load_document",
    "validate",
]
