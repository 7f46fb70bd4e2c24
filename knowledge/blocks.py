"""StreamField blocks shared by the knowledge page types."""

from wagtail import blocks
from wagtail.documents.blocks import DocumentChooserBlock


class HeadingBlock(blocks.CharBlock):
    class Meta:
        icon = "title"
        template = "knowledge/blocks/heading.html"
        form_classname = "title"


class CalloutBlock(blocks.StructBlock):
    """A highlighted note: a warning, a tip or a legal point."""

    kind = blocks.ChoiceBlock(
        choices=[("note", "Note"), ("warning", "Warning"), ("legal", "Legal point")],
        default="note",
    )
    text = blocks.RichTextBlock(features=["bold", "italic", "link", "ol", "ul"])

    class Meta:
        icon = "warning"
        template = "knowledge/blocks/callout.html"


class DocumentLinkBlock(blocks.StructBlock):
    document = DocumentChooserBlock()
    label = blocks.CharBlock(required=False, help_text="Defaults to the document's title")

    class Meta:
        icon = "doc-full"
        template = "knowledge/blocks/document_link.html"


RICH_FEATURES = ["h3", "h4", "bold", "italic", "link", "document-link", "ol", "ul"]


class BodyBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(features=RICH_FEATURES, icon="pilcrow")
    callout = CalloutBlock()
    document = DocumentLinkBlock()


class StepBlock(blocks.StructBlock):
    """One step of a procedure. Steps are numbered in the order given."""

    title = blocks.CharBlock()
    instructions = blocks.RichTextBlock(features=RICH_FEATURES)
    responsible = blocks.CharBlock(required=False, help_text="Who does this step, if not the procedure's role")

    class Meta:
        icon = "list-ol"
        template = "knowledge/blocks/step.html"


class StepsBlock(blocks.StreamBlock):
    step = StepBlock()
