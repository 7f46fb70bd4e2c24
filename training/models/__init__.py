"""Training models, one module per concern (see docs/training.md)."""

from .curriculum import Activity, ActivityKind, Curriculum, Module, ModuleCompetence, Question
from .framework import (
    Competence,
    CompetenceArea,
    CompetenceEvidenceRule,
    CompetenceLevelDescriptor,
    CompetenceMapping,
    Crosswalk,
    EvidenceKind,
    Framework,
    FrameworkStatus,
    JobProfile,
    JobProfileRequirement,
    LevelMapping,
    PageCompetence,
    ProficiencyLevel,
)
from .people import StaffProfile
from .progress import (
    ActivityProgress,
    AssigneeKind,
    Assignment,
    CheckAttempt,
    Enrolment,
    EnrolmentKind,
    ModuleCompletion,
    ProgressStatus,
)
from .records import (
    AttainedLevel,
    Certificate,
    EvidenceType,
    ImportJob,
    ImportStatus,
    LevelEvidence,
    LevelSource,
    ModuleReviewRequest,
)

__all__ = [
    "Activity", "ActivityKind", "ActivityProgress", "AssigneeKind", "Assignment", "AttainedLevel", "Certificate",
    "CheckAttempt", "Competence", "CompetenceArea", "CompetenceEvidenceRule", "CompetenceLevelDescriptor",
    "CompetenceMapping", "Crosswalk", "Curriculum", "Enrolment", "EnrolmentKind", "EvidenceKind", "EvidenceType",
    "Framework", "FrameworkStatus", "ImportJob", "ImportStatus", "JobProfile", "JobProfileRequirement",
    "LevelEvidence", "LevelMapping", "LevelSource", "Module", "ModuleCompetence", "ModuleCompletion",
    "ModuleReviewRequest", "PageCompetence", "ProficiencyLevel", "ProgressStatus", "Question", "StaffProfile",
]
