"""Lab-file imports (CSV / XLSX): parse → map columns → validate → match the person → record_result, per row.

parsing: stream rows from the stored file; mapping: what columns can feed; schemas: marshmallow row
reading; matching: find people in bulk; service: the import itself and the unmatched queue; tasks: the
RQ job; views: the screens.
"""
