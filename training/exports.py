"""CSV and XLSX versions of the HR reports."""

import csv
import io

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GAP_COLUMNS = ["unit", "competence_code", "competence", "learners", "met", "met_rate", "avg_required",
               "avg_attained", "avg_gap"]
COMPLETION_COLUMNS = ["learners", "total", "completed", "overdue", "completion_rate", "overdue_rate"]


def safe_cell(value):
    """Neutralise values a spreadsheet would run as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def gap_rows(gap):
    for unit in gap.units:
        for competence in gap.competences:
            cell = gap.cell(unit.pk, competence.pk)
            if cell is None:
                continue
            yield [unit.name, competence.code, competence.name] + [cell[k] for k in GAP_COLUMNS[3:]]
    for competence in gap.competences:
        total = gap.totals.get(competence.pk)
        if total:
            yield ["All units", competence.code, competence.name] + [total[k] for k in GAP_COLUMNS[3:]]


def completion_rows(data):
    for r in data["by_unit"]:
        yield ["unit", str(r["unit"] or "(no unit)")] + [r[k] for k in COMPLETION_COLUMNS]
    for r in data["by_target"]:
        yield [r["kind"], str(r["target"])] + [r[k] for k in COMPLETION_COLUMNS]
    yield ["all", "All"] + [data["overall"][k] for k in COMPLETION_COLUMNS]


def _csv(header, rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return "\ufeff" + out.getvalue()  # BOM so spreadsheet programs read UTF-8


def gap_csv(gap):
    return _csv(GAP_COLUMNS, gap_rows(gap))


def completion_csv(data):
    return _csv(["group_by", "name"] + COMPLETION_COLUMNS, completion_rows(data))


def workbook(completion, gap, filters):
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    from .reports import bucket

    wb = Workbook()
    ws = wb.active
    ws.title = "Completion"
    ws.append(["group_by", "name"] + COMPLETION_COLUMNS)
    for row in completion_rows(completion):
        ws.append([safe_cell(v) for v in row])
    ws = wb.create_sheet("Skills gap")
    ws.append(GAP_COLUMNS)
    for row in gap_rows(gap):
        ws.append([safe_cell(v) for v in row])
    ws = wb.create_sheet("Heatmap (% meeting level)")
    ws.append(["unit"] + [c.code for c in gap.competences])
    for unit, cells in gap.rows():
        ws.append([safe_cell(unit.name)] + [c["met_rate"] if c else None for c in cells])
        for col, cell in enumerate(cells, 2):
            if cell:
                _, fill, ink, _ = bucket(cell["met_rate"])
                target = ws.cell(row=ws.max_row, column=col)
                target.fill = PatternFill("solid", fgColor=fill.lstrip("#"))
                target.font = Font(color=ink.lstrip("#"))
    info = wb.create_sheet("Filters")
    for key, value in filters.as_dict().items():
        info.append([key, safe_cell(value or "")])
    for sheet in wb.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
