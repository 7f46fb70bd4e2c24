"""Reading a question for the answer card (``answers.py``): its key terms
(with synonyms), the kind of answer it wants, the numbers it gives, and
whether it asks about an old version of the guidance."""

import dataclasses
import re

from .analysis import analyse

# Words of the question that say what kind of answer it wants, not what about.
QUESTION_STEMS = frozenset(analyse(
    "many much long soon quickly quick fast far often big large small smallest minimum maximum least most "
    "need needs get use allowed allow want tell know still now number value amount kind type "
    "time happen happens please ring call called"
))
_QUANTITY = re.compile(
    r"\b(how (many|much|long|soon|quickly|fast|far|often|big|old|large|small)|deadline|within how|"
    r"minimum|maximum|smallest|largest|what (value|amount|share|percentage|size|level|age|threshold)|"
    r"above what|below what|over what|under what|at least how|by when|when (is|are|must|do|does|should|will))\b", re.I)
_WHEN = re.compile(r"^\s*when\b|\bafter what time\b|\bhow often\b", re.I)
_FORM_Q = re.compile(r"\bforms?\b", re.I)
_PHONE_Q = re.compile(r"\b(phone|extension|telephone|ring|call|hotline|number to)\b", re.I)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|once|twice|annually|annual|yearly|monthly|weekly|daily|quarterly|"
    r"immediately|same day|january|february|march|april|may|june|july|august|september|october|november|"
    r"december)\b", re.I)
_FORM_CODE = re.compile(r"\b[A-Z]{1,4}-\d{1,3}\b")
_PHONE = re.compile(r"\b(extension \d{3,}|\d{3,}[ \d]{4,}|\+\d[\d ]{6,})")
_YEAR = re.compile(r"\b(19|20)\d{2}\b")
_OLD_INTENT = re.compile(r"\b(old|older|previous|previously|former|earlier|superseded|rescinded|withdrawn|"
                         r"repealed|used to|still|did|was|were|had to)\b", re.I)


@dataclasses.dataclass
class Question:
    text: str
    terms: tuple  # key terms (stems), question words dropped
    groups: tuple  # per key term: its alternatives, each a frozenset of stems (synonyms)
    wants: str  # "quantity", "form", "phone" or ""
    numbers: tuple
    old_intent: bool
    years: tuple


def read_question(text, synonyms=None):
    terms = tuple(dict.fromkeys(t for t in analyse(text) if t not in QUESTION_STEMS and not t.isdigit()))
    groups = []
    for term in terms:
        alts = {frozenset([term])}
        if synonyms is not None:
            alts |= {frozenset(analyse(p)) for p in synonyms.expansions(term) if analyse(p)}
        groups.append(tuple(alts))
    if _FORM_Q.search(text):
        wants = "form"
    elif _PHONE_Q.search(text):
        wants = "phone"
    elif _QUANTITY.search(text) or _WHEN.search(text):
        wants = "quantity"
    else:
        wants = ""
    numbers = tuple(re.sub(r"[,\s]", "", n) for n in re.findall(r"\d[\d,]*", text) if not _YEAR.fullmatch(n))
    years = tuple(m.group(0) for m in _YEAR.finditer(text))
    return Question(text, terms, tuple(groups), wants, numbers, bool(years or _OLD_INTENT.search(text)), years)


def holds_kind(question, sentence):
    if question.wants == "form":
        return bool(_FORM_CODE.search(sentence))
    if question.wants == "phone":
        return bool(_PHONE.search(sentence))
    if question.wants == "quantity":
        return bool(_NUMBER.search(sentence))
    return True


