"""Forms for learners, trainers, managers and HR."""

from django import forms

from knowledge.models import OrgUnit

from .importer import KINDS
from .models import Curriculum, Framework, JobProfile


class KnowledgeCheckForm(forms.Form):
    """One radio group per question; answers are indexes into its choices."""

    def __init__(self, activity, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(activity.questions.all())
        for n, q in enumerate(self.questions, 1):
            self.fields[f"q{q.pk}"] = forms.TypedChoiceField(
                label=f"{n}. {q.prompt}",
                choices=[(i, text) for i, (text, _) in enumerate(q.parsed_choices())],
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": "Choose an answer to this question."},
            )

    def answers(self):
        return {q.pk: self.cleaned_data[f"q{q.pk}"] for q in self.questions}


class LevelForm(forms.Form):
    competence = forms.IntegerField(widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=[("validate", "Validate"), ("adjust", "Adjust")], widget=forms.HiddenInput)
    level = forms.IntegerField(min_value=0, max_value=20, required=False)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)

    def clean(self):
        data = super().clean()
        if data.get("action") == "adjust" and data.get("level") is None:
            self.add_error("level", "Choose the level to set.")
        return data


class ReportFilterForm(forms.Form):
    """The filters above the HR reports (GET); values are slugs."""

    unit = forms.ChoiceField(required=False)
    job_profile = forms.ChoiceField(required=False, label="Job profile")
    curriculum = forms.ChoiceField(required=False)
    framework = forms.ChoiceField(required=False)
    date_from = forms.DateField(required=False, label="Due from", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="Due to", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        any_ = [("", "Any")]
        self.fields["unit"].choices = any_ + [(u.slug, str(u)) for u in OrgUnit.objects.select_related("parent")]
        self.fields["job_profile"].choices = any_ + list(JobProfile.objects.values_list("slug", "name"))
        self.fields["curriculum"].choices = any_ + list(Curriculum.objects.values_list("slug", "title"))
        seen, choices = set(), [("", "Current framework")]
        for fw in Framework.objects.order_by("name", "-published_on"):
            if fw.slug not in seen:
                seen.add(fw.slug)
                choices.append((fw.slug, fw.name))
        self.fields["framework"].choices = choices


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k.title()) for k in KINDS], label="What the file contains")
    file = forms.FileField(label="CSV file")
    dry_run = forms.BooleanField(
        required=False, initial=True, label="Dry run: validate every row and write nothing"
    )
