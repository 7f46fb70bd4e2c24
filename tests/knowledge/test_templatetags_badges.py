"""Badges name their state in words (WCAG 1.4.1: colour is not the only carrier)."""

from knowledge.templatetags.knowledge_tags import state_badge


def test_policy_status_badges_show_the_status_name_not_its_value():
    assert state_badge("in_force")["label"] == "In force"
    assert state_badge("superseded")["label"] == "Superseded"
    assert state_badge("overdue")["label"] == "Overdue for review"
