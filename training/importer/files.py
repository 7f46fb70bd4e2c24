"""Reading an import file: the columns each kind takes, the header check,
and the records of what went wrong and what was done."""

import csv
import io
from dataclasses import dataclass, field

KINDS = {
    "units": {"required": ["slug", "name"], "optional": ["parent", "manager"]},
    "users": {
        "required": ["username", "email"],
        "optional": ["first_name", "last_name", "unit", "job_profile", "manager", "role"],
    },
    "assignments": {
        "required": ["assign_to", "assignee"],
        "optional": ["curriculum", "module", "due_date", "due_within_days", "include_subunits"],
    },
}
YES, NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0", ""}
MAX_BYTES = 10 * 1024 * 1024


@dataclass
class RowError:
    line: int
    column: str
    message: str

    def __str__(self):
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"

    def as_dict(self):
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    kind: str
    dry_run: bool
    rows: int = 0
    errors: list = field(default_factory=list)
    created: int = 0
    updated: int = 0
    enrolments: int = 0

    @property
    def ok(self):
        return not self.errors

    def summary(self):
        verb = "would be" if self.dry_run else "were"
        if not self.ok:
            return f"{len(self.errors)} error(s) in {self.rows} row(s); nothing was written."
        return (f"{self.rows} row(s) valid: {self.created} created and {self.updated} updated "
                f"{verb} written, {self.enrolments} enrolment(s).")


class ImportFileError(ValueError):
    pass


def read_rows(text, kind):
    """(line number, row dict) pairs, after checking the header."""
    if kind not in KINDS:
        raise ImportFileError(f"Unknown import kind {kind!r}; use one of {', '.join(KINDS)}.")
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    spec = KINDS[kind]
    missing = [c for c in spec["required"] if c not in header]
    unknown = [c for c in header if c not in spec["required"] + spec["optional"]]
    if not header:
        raise ImportFileError("The file is empty: the first line must name the columns.")
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        allowed = ", ".join(spec["required"] + spec["optional"])
        raise ImportFileError(f"Line 1: {'; '.join(parts)}. Columns for {kind}: {allowed}.")
    reader.fieldnames = header
    rows = []
    for row in reader:
        if None in row:
            rows.append((reader.line_num, {"__extra__": row.pop(None)}))
            continue
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items()}))
    return rows
