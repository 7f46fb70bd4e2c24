"""Turn a page into titled sections of plain text, following its structure.

Headings (heading blocks and h2-h4 inside rich text) start new sections;
procedure steps are sections of their own; attachments (PDF, DOCX, ODT, TXT)
are read and become sections too. A file that cannot be read is reported in
``warnings``, never fatal.
"""

import dataclasses
import io
import logging
import zipfile

from bs4 import BeautifulSoup
from wagtail.rich_text import expand_db_html

logger = logging.getLogger("govkm.search")
MAX_ATTACHMENT_CHARS = 200_000


@dataclasses.dataclass
class Section:
    heading: str
    text: str
    source: str = "page"  # or "attachment:<document id>"


def html_to_sections(html, heading=""):
    """Split rich text at its headings; paragraphs and list items become lines."""
    soup = BeautifulSoup(expand_db_html(html or ""), "html.parser")
    sections, lines = [], []
    for el in soup.find_all(["h2", "h3", "h4", "p", "li", "blockquote", "td"]):
        if el.find_parent(["li", "td"]) and el.name in ("p",):
            continue
        text = " ".join(el.get_text(" ", strip=True).split())
        if not text:
            continue
        if el.name in ("h2", "h3", "h4"):
            if lines:
                sections.append(Section(heading, "\n".join(lines)))
            heading, lines = text, []
        else:
            lines.append(text)
    if not soup.find(["h2", "h3", "h4", "p", "li", "blockquote", "td"]):
        text = " ".join(soup.get_text(" ", strip=True).split())
        if text:
            lines.append(text)
    if lines:
        sections.append(Section(heading, "\n".join(lines)))
    return sections


def _text(value):
    if value is None:
        return ""
    if hasattr(value, "source"):  # RichText
        return "\n".join(s.text for s in html_to_sections(value.source))
    return str(value)


def stream_sections(stream, default_heading=""):
    """Sections of a body StreamField: a heading block opens a new section."""
    sections, heading, lines = [], default_heading, []

    def flush():
        if lines:
            sections.append(Section(heading, "\n".join(lines)))

    for block in stream:
        kind, value = block.block_type, block.value
        if kind == "heading":
            flush()
            heading, lines = str(value), []
        elif kind == "paragraph":
            for sub in html_to_sections(value.source, heading):
                if sub.heading != heading:
                    flush()
                    heading, lines = sub.heading, []
                lines.append(sub.text)
        elif kind == "callout":
            lines.append(_text(value.get("text")))
        # document blocks: their files are read as attachments
    flush()
    return sections


def steps_sections(steps):
    sections = []
    for n, block in enumerate(steps, start=1):
        value = block.value
        heading = f"Step {n}: {value.get('title', '')}".strip()
        text = _text(value.get("instructions"))
        if value.get("responsible"):
            text += f"\nResponsible: {value['responsible']}"
        sections.append(Section(heading, text))
    return sections


def page_sections(page):
    """Sections of a specific knowledge page, attachments excluded."""
    from knowledge.models import LessonLearnedPage, PolicyPage, ProcedurePage

    sections = []
    if isinstance(page, PolicyPage):
        facts = [f"Reference {page.reference_number}", f"Status: {page.get_status_display()}"]
        if page.legal_basis:
            facts.append(f"Legal basis: {page.legal_basis}")
        if page.effective_date:
            facts.append(f"Effective from {page.effective_date:%d %B %Y}")
        sections.append(Section("Legal status", ". ".join(facts)))
        sections.extend(stream_sections(page.body))
    elif isinstance(page, ProcedurePage):
        sections.extend(html_to_sections(page.purpose, "Purpose"))
        sections.append(Section("Responsible role", page.responsible_role))
        sections.extend(steps_sections(page.steps))
    elif isinstance(page, LessonLearnedPage):
        sections.append(Section("Project", f"{page.project}, {page.event_date:%B %Y}"))
        for field, label in [
            ("context", "Context"),
            ("what_happened", "What happened"),
            ("what_worked", "What worked"),
            ("what_did_not", "What did not work"),
            ("recommendations", "Recommendations"),
        ]:
            sections.extend(html_to_sections(getattr(page, field), label))
    return [s for s in sections if s.text.strip()]


def attached_documents(page):
    """Documents attached to the page or linked from its body blocks."""
    docs = {}
    attachments = getattr(page, "attachments", None)
    if attachments is not None:
        for a in attachments.select_related("document"):
            docs[a.document.pk] = a.document
    body = getattr(page, "body", None)
    if body is not None:
        for block in body:
            if block.block_type == "document" and block.value.get("document"):
                doc = block.value["document"]
                docs[doc.pk] = doc
    return list(docs.values())


def document_text(name, data):
    """Plain text of a PDF, DOCX, ODT or TXT file's bytes. Raises ValueError
    with a readable reason if the file cannot be read."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    try:
        if ext == "pdf":
            from pypdf import PdfReader

            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise ValueError("the PDF is encrypted")
            return "\n".join((p.extract_text() or "") for p in reader.pages)
        if ext == "docx":
            import docx

            document = docx.Document(io.BytesIO(data))
            return "\n".join(p.text for p in document.paragraphs)
        if ext == "odt":
            from odf import teletype
            from odf import text as odftext
            from odf.opendocument import load

            document = load(io.BytesIO(data))
            return "\n".join(teletype.extractText(p) for p in document.getElementsByType(odftext.P))
        if ext in ("txt", "csv", "md"):
            return data.decode("utf-8", errors="replace")
    except ValueError:
        raise
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"not a valid {ext.upper()} file ({exc})") from exc
    except Exception as exc:  # parsers raise many types on corrupt input
        raise ValueError(f"could not be read as {ext.upper()}: {exc.__class__.__name__}: {exc}") from exc
    raise ValueError(f"files of type .{ext or '?'} are not indexed")


def attachment_sections(page):
    """(sections, warnings) for the page's attachments."""
    sections, warnings = [], []
    for doc in attached_documents(page):
        try:
            with doc.file.open("rb") as fh:
                data = fh.read()
            text = document_text(doc.file.name, data)[:MAX_ATTACHMENT_CHARS]
        except (OSError, ValueError) as exc:
            warnings.append(f"Attachment '{doc.title}' ({doc.file.name}): {exc}")
            logger.warning("attachment %s of page %s not indexed: %s", doc.pk, page.pk, exc)
            continue
        paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
        body = "\n".join(p for p in paragraphs if p)
        if body:
            sections.append(Section(f"Attachment: {doc.title}", body, source=f"attachment:{doc.pk}"))
    return sections, warnings
