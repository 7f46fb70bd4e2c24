"""Legal effect: what was in force on a date, and supersession chains."""

import datetime

import pytest

from knowledge.models import PolicyPage
from knowledge.policies import end_date, in_force_on, supersession_chain
from tests import factories as f

pytestmark = pytest.mark.django_db
D = datetime.date


def set_fields(page, **fields):
    PolicyPage.objects.filter(pk=page.pk).update(**fields)


@pytest.fixture
def chain():
    """Gifts policy 2015 → 2020 → 2025, plus a rescinded and a draft policy."""
    v1 = f.policy("Gifts policy 2015", status="superseded")
    v2 = f.policy("Gifts policy 2020", status="superseded", supersedes=v1)
    v3 = f.policy("Gifts policy 2025", status="in_force", supersedes=v2)
    set_fields(v1, effective_date=D(2015, 1, 1))
    set_fields(v2, effective_date=D(2020, 3, 1))
    set_fields(v3, effective_date=D(2025, 7, 1))
    gone = f.policy("Hospitality register rule", status="rescinded")
    set_fields(gone, effective_date=D(2018, 1, 1), effective_to=D(2022, 12, 31))
    undated_gone = f.policy("Old flag rule", status="rescinded")  # no end date known
    draft = f.policy("Draft gifts policy", status="draft")
    return {"v1": v1, "v2": v2, "v3": v3, "gone": gone, "undated": undated_gone, "draft": draft}


def titles(day):
    return set(in_force_on(day, PolicyPage.objects.live()).values_list("title", flat=True))


def test_in_force_on_a_date(chain):
    assert titles(D(2014, 12, 31)) == set()
    assert titles(D(2015, 1, 1)) == {"Gifts policy 2015"}
    assert titles(D(2020, 2, 29)) == {"Gifts policy 2015", "Hospitality register rule"}  # day before v2
    assert titles(D(2020, 3, 1)) == {"Gifts policy 2020", "Hospitality register rule"}
    assert titles(D(2022, 12, 31)) == {"Gifts policy 2020", "Hospitality register rule"}  # last day in force
    assert titles(D(2023, 1, 1)) == {"Gifts policy 2020"}
    assert titles(D(2025, 7, 1)) == {"Gifts policy 2025"}


def test_effect_is_not_publication(chain):
    future = f.policy("Gifts policy 2030", supersedes=chain["v3"])
    set_fields(future, effective_date=D(2030, 1, 1))
    assert future.live and "Gifts policy 2030" not in titles(D(2029, 12, 31))
    assert titles(D(2030, 1, 1)) == {"Gifts policy 2030"}
    assert end_date(PolicyPage.objects.get(pk=chain["v3"].pk)) == D(2029, 12, 31)


def test_chain_with_dates_and_a_cycle_guard(chain):
    links = supersession_chain(PolicyPage.objects.get(pk=chain["v2"].pk))
    assert [link.policy.title for link in links] == ["Gifts policy 2015", "Gifts policy 2020", "Gifts policy 2025"]
    assert [(link.start, link.end) for link in links] == [
        (D(2015, 1, 1), D(2020, 2, 29)), (D(2020, 3, 1), D(2025, 6, 30)), (D(2025, 7, 1), None)]
    assert [link.is_current_page for link in links] == [False, True, False]
    PolicyPage.objects.filter(pk=chain["v1"].pk).update(supersedes=chain["v3"])  # a mistaken loop
    assert len(supersession_chain(PolicyPage.objects.get(pk=chain["v2"].pk))) == 3


def test_in_force_view(client, chain):
    section = chain["v1"].get_parent()
    html = client.get(f"{section.url}in-force/?date=2021-06-01").content.decode()
    assert "Policies in force on 1 June 2021" in html
    assert "Gifts policy 2020" in html and "Hospitality register rule" in html
    assert "Gifts policy 2015" not in html and "Draft gifts policy" not in html
    bad = client.get(f"{section.url}in-force/?date=01/06/2021").content.decode()
    assert "Enter the date as YYYY-MM-DD" in bad
    procedures = f.section("procedures")
    f.procedure("A procedure")
    assert client.get(f"{procedures.url}in-force/").status_code == 404


def test_in_force_view_hides_restricted_policies(client, chain):
    secret = f.policy("Restricted gifts annex", audience="restricted")
    set_fields(secret, effective_date=D(2019, 1, 1))
    url = f"{chain['v1'].get_parent().url}in-force/?date=2021-06-01"
    assert "Restricted gifts annex" not in client.get(url).content.decode()
    client.force_login(f.user("cleared", "content_owner"))
    assert "Restricted gifts annex" in client.get(url).content.decode()


def test_policy_page_shows_its_chain_and_answers_for_a_date(client, chain):
    html = client.get(chain["v3"].url).content.decode()
    assert "Versions of this policy" in html
    assert "Gifts policy 2015" in html and "1 Jan 2015 – 29 Feb 2020" in html
    asked = client.get(chain["v3"].url + "?date=2016-05-01").content.decode()
    assert "In force on 1 May 2016" in asked and "was in force that day" in asked
    assert chain["v1"].url in asked.split("In force on 1 May 2016")[1].split("</section>")[0]


def test_a_chain_looks_up_each_successor_once(chain, django_assert_num_queries):
    """Walking the chain forwards and dating its links ask the same
    question (which policy replaced this one?); it is asked once a policy."""
    v1 = PolicyPage.objects.get(pk=chain["v1"].pk)
    # v1 has no predecessor: v1 -> v2, v2 -> v3, v3 -> none: three lookups, and no more for the end dates
    with django_assert_num_queries(3):
        links = supersession_chain(v1)
    assert [link.end for link in links] == [D(2020, 2, 29), D(2025, 6, 30), None]
    assert [link.end for link in links] == [end_date(link.policy) for link in links]
