"""The roles GovKM ships with, as Django groups with Wagtail permissions,
and the moderation workflow (Editors draft, Content owners approve).

Audience in the admin (issue 21). Restricted guidance sits in *restricted
sections*: top-level sections (children of a site's home page) that carry a
group view restriction, such as the demo's /restricted/. Wagtail's page
permissions follow the tree and cannot be taken away below a grant, so the
Editors group is given its page permissions on each section that is *not*
restricted, never on the root or home page: a restricted section is outside
everything Editors may explore, and Wagtail then keeps its pages out of
their edit, draft, history and revision views, the admin page search and
API, and the site history report. Content owners and Administrators, both
cleared for restricted content, keep their grant on the root.
``sync_section_permissions`` applies this; it runs from ``ensure_roles``
and whenever a section is created or its privacy changes.
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from wagtail.models import (
    Collection,
    GroupApprovalTask,
    GroupCollectionPermission,
    GroupPagePermission,
    Page,
    Workflow,
    WorkflowPage,
    WorkflowTask,
)

from .access import SECTION_DEPTH, restricted_section_paths
from .models import KnowledgePage

CIVIL_SERVANTS = "Civil servants"
EDITORS = "Editors"
CONTENT_OWNERS = "Content owners"
HR = "HR"
ADMINISTRATORS = "Administrators"
RESTRICTED_READERS = "Restricted readers"
AUDITORS = "Auditors"

ROLE_GROUPS = {
    "civil_servant": [CIVIL_SERVANTS],
    "editor": [EDITORS],
    "content_owner": [CONTENT_OWNERS, RESTRICTED_READERS],
    "hr": [HR],
    "administrator": [ADMINISTRATORS, RESTRICTED_READERS],
}

PAGE_PERMISSIONS = {
    EDITORS: ["add_page", "change_page"],
    CONTENT_OWNERS: ["add_page", "change_page", "publish_page", "lock_page", "unlock_page"],
    ADMINISTRATORS: ["add_page", "change_page", "publish_page", "lock_page", "unlock_page", "bulk_delete_page"],
}
# Groups whose page permissions are granted section by section, never on a
# restricted section (see the module docstring).
SECTION_GRANTED = (EDITORS,)
COLLECTION_PERMISSIONS = {
    EDITORS: ["add_document", "change_document", "choose_document", "add_image", "change_image", "choose_image"],
    CONTENT_OWNERS: ["add_document", "change_document", "choose_document", "add_image", "change_image", "choose_image"],
    ADMINISTRATORS: ["add_document", "change_document", "delete_document", "choose_document",
                     "add_image", "change_image", "delete_image", "choose_image"],
}
# Training (training app): HR edits frameworks, curricula, people and
# assignments, sees every learner's records and imports CSV files.
TRAINING_HR_MODELS = ["framework", "competence", "crosswalk", "jobprofile", "pagecompetence", "curriculum",
                      "module", "activity", "staffprofile", "assignment"]
TRAINING_HR_PERMISSIONS = [("training", f"{action}_{model}") for model in TRAINING_HR_MODELS
                           for action in ("add", "change", "delete", "view")] + [
    ("training", "view_all_training"), ("training", "import_training_data")]
MODEL_PERMISSIONS = {
    EDITORS: [("wagtailadmin", "access_admin")],
    CONTENT_OWNERS: [("wagtailadmin", "access_admin"), ("knowledge", "change_topic"), ("knowledge", "add_topic"),
                     ("kmsearch", "add_synonym"), ("kmsearch", "change_synonym"), ("kmsearch", "view_indexedpage"),
                     ("kmsearch", "add_contentrequest"), ("kmsearch", "change_contentrequest"),
                     ("kmsearch", "view_contentrequest"),
                     ("kmsearch", "add_hiddensearchterm"), ("kmsearch", "delete_hiddensearchterm"),
                     ("knowledge", "view_reviewtask"), ("knowledge", "change_reviewtask")],
    HR: [("wagtailadmin", "access_admin")] + TRAINING_HR_PERMISSIONS,
    AUDITORS: [("wagtailadmin", "access_admin"), ("kmsearch", "view_accountability")],
    ADMINISTRATORS: [("wagtailadmin", "access_admin")]
    + [(app, f"{action}_{model}") for app, model in [("knowledge", "topic"), ("knowledge", "orgunit"), ("kmsearch", "synonym")]
       for action in ("add", "change", "delete", "view")]
    + [("kmsearch", "add_hiddensearchterm"), ("kmsearch", "delete_hiddensearchterm")]
    + [("kmsearch", "view_indexedpage"), ("auth", "add_user"), ("auth", "change_user"), ("auth", "view_user")]
    + [("knowledge", "view_reviewtask"), ("knowledge", "change_reviewtask"), ("knowledge", "view_freshness_report")],
}


def _perm(app_label, codename):
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@transaction.atomic
def ensure_roles(root_page=None):
    """Create or update the role groups, their permissions and the workflow.
    Safe to run again: it adds what is missing and changes nothing else."""
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in
              [CIVIL_SERVANTS, EDITORS, CONTENT_OWNERS, HR, ADMINISTRATORS, RESTRICTED_READERS, AUDITORS]}
    for name, perms in MODEL_PERMISSIONS.items():
        groups[name].permissions.add(*[_perm(a, c) for a, c in perms])
    if root_page is None:
        root_page = Page.get_first_root_node()
    for name, codenames in PAGE_PERMISSIONS.items():
        if name in SECTION_GRANTED:
            continue
        for codename in codenames:
            GroupPagePermission.objects.get_or_create(
                group=groups[name], page=root_page, permission=_perm("wagtailcore", codename)
            )
    root_collection = Collection.get_first_root_node()
    for name, codenames in COLLECTION_PERMISSIONS.items():
        for codename in codenames:
            app = "wagtaildocs" if codename.endswith("document") else "wagtailimages"
            GroupCollectionPermission.objects.get_or_create(
                group=groups[name], collection=root_collection, permission=_perm(app, codename)
            )
    workflow, _ = Workflow.objects.get_or_create(name="Editorial review", defaults={"active": True})
    task = GroupApprovalTask.objects.filter(name="Content owner approval").first()
    if task is None:
        task = GroupApprovalTask.objects.create(name="Content owner approval")
    task.groups.add(groups[CONTENT_OWNERS], groups[ADMINISTRATORS])
    WorkflowTask.objects.get_or_create(workflow=workflow, task=task.task_ptr, defaults={"sort_order": 0})
    WorkflowPage.objects.update_or_create(page=root_page, defaults={"workflow": workflow})
    sync_section_permissions()
    return groups



def sync_section_permissions():
    """Give the section-granted groups their page permissions on every
    section that is not restricted, and take them away from the root, home
    pages and restricted sections. Safe to run again."""
    restricted = restricted_section_paths()
    for name in SECTION_GRANTED:
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        perms = [_perm("wagtailcore", c) for c in PAGE_PERMISSIONS[name]]
        grants = GroupPagePermission.objects.filter(group=group)
        grants.filter(page__depth__lt=SECTION_DEPTH).delete()
        for path in restricted:
            grants.filter(page__path__startswith=path).delete()
        for section in Page.objects.filter(depth=SECTION_DEPTH):
            if any(section.path.startswith(path) for path in restricted):
                continue
            for perm in perms:
                GroupPagePermission.objects.get_or_create(group=group, page=section, permission=perm)


def misplaced_restricted_pages():
    """Restricted knowledge pages outside a restricted section (editable by
    Editors wherever they sit: move them into a restricted section)."""
    restricted = restricted_section_paths()
    return [p for p in KnowledgePage.objects.filter(audience="restricted").order_by("path")
            if not any(p.path.startswith(path) for path in restricted)]
