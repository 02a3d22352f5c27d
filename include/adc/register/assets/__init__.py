"""The Information Asset Register (IAR): assets, their dataset locations, import and export.

An asset (IA-nnnn) is a body of information managed as one unit, with an Information Asset Owner.
Its locations are URIs a person writes (s3://bucket/prefix, glue://database/table, ...) and each
resolves to the OpenLineage identity the harvest uses (adc.naming.parse_location), which is how
reconciliation ties the register to the estate.

Import reads a CSV or XLSX file with the columns in ``COLUMNS`` (one row per asset; several
locations separated by ';'), validates every row first and applies all or nothing in one
transaction. Re-importing the same file changes nothing; every change is a history row naming the
file and the person. Export writes the same columns, so export -> import round-trips.

The modules: columns (the file's columns, the validated record), importing, store (assets in the
register, with history), export. The names other modules use are here.
"""

from adc.register.assets.columns import COLUMNS, AssetRecord
from adc.register.assets.export import export, export_text, rows_of, write_csv_rows
from adc.register.assets.importing import (
    AssetRow,
    ImportResult,
    import_file,
    import_records,
    parse_bool,
    parse_categories,
    parse_file,
    parse_locations,
    validate,
)
from adc.register.assets.store import AssetError, all_assets, change, create, get, next_asset_id
from adc.tabular import spreadsheet_text  # the export's formula guard, which import undoes

__all__ = [
    "COLUMNS", "AssetError", "AssetRecord", "AssetRow", "ImportResult", "all_assets", "change", "create", "export",
    "export_text", "get", "import_file", "import_records", "next_asset_id", "parse_bool", "parse_categories",
    "parse_file", "parse_locations", "rows_of", "spreadsheet_text", "validate", "write_csv_rows",
]
