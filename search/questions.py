"""Reading a question for the answer card (``answers.py``): its key terms
(with synonyms), the kind of answer it wants, the numbers it gives, and
whether it asks about an old version of the guidance.

The kinds of answer (``Question.wants``) and what a sentence must hold to
be of that kind (``holds_kind``):

- "count" ("how many days", "how many quotes"): a number followed, within
  three words, by the thing counted ("within 15 working days", "three
  written quotes");
- "time" ("how long", "how soon", "when", "how often"): a number with a unit
  of time, a date, a clock time, a frequency ("annually") or an immediacy
  ("at once", "as soon as");
- "quantity" ("above what value", "how much", "what share"): a number;
- "form" (a form asked for, in the singular: "which form", "handover form"):
  a form code ("GH-1");
- "phone": a phone number or an extension; "email": an e-mail address;
- "name" ("what is it called", "the name of", "which company"): a name
  (a capitalised word that is not one of the question's own words).
"""

import dataclasses
import functools
import re

from .analysis import analyse

# Words of the question that say what kind of answer it wants, not what
# about; removed as words before stemming (so "allowed" goes, "allowance"
# stays).
QUESTION_WORDS = frozenset(
    "many much long soon quickly quick fast far often big large small smallest minimum maximum least most "
    "need needs needed get use used allowed allow want tell know still now number value amount kind type "
    "time happen happens please ring call called when where why whose what's whats name".split()
)
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_COUNT_Q = re.compile(r"\bhow many\s+((?:[\w-]+\s+){0,2})", re.I)
_TIME_Q = re.compile(
    r"\b(how (long|soon|quickly|fast|often)|how far (ahead|in advance|before)|deadline|within how|by when|"
    r"after what time)\b|^\s*when\b|\bwhen (is|are|must|do|does|should|will|can)\b", re.I)
_QUANTITY_Q = re.compile(
    r"\b(how (many|much|big|old|large|small|long)|minimum|maximum|smallest|largest|what (value|amount|share|percentage|"
    r"size|level|age|threshold|rate)|(above|below|over|under) what|at least how)\b", re.I)
# a form or code asked for, in the singular (not "paper forms")
_FORM_Q = re.compile(r"\b(form|code)\b(?! of\b)", re.I)
# a number to ring asked for (not "a stolen work phone")
_PHONE_Q = re.compile(r"\b((tele)?phone number|extension|hotline|what number|which number|number (to|do I|should I) "
                      r"(ring|call|dial)|(do|should|can) (I|we) (ring|call|phone|dial))\b", re.I)
# "how long should the page be": a length or a duration, any number will do
_LENGTH_Q = re.compile(r"\bhow long (should|must|can|may|is|are|does) .+\bbe\W*$", re.I)
_EMAIL_Q = re.compile(r"\b(e-?mail address|address to e-?mail|e-?mail to)\b", re.I)
_NAME_Q = re.compile(r"\b(called|name of|named|which (company|firm|supplier|contractor|system|portal|tool))\b", re.I)
# "how many people": any word for people counts them ("at least three members")
_PEOPLE = frozenset(analyse("people persons staff members employees individuals evaluators"))
_COUNT_SKIP = frozenset("do does did is are was were can could must should will would may might i we you they "
                        "the a an of have has had per in on for to".split())

_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|single|both|half)\b", re.I)
_MONTH = r"(January|February|March|April|June|July|August|September|October|November|December)"
# "May" is a month only next to a day or a year ("1 May", "May 2024"), never the verb
_DATE = re.compile(rf"\b{_MONTH}\b|\b\d{{1,2}} May\b|\bMay \d{{4}}\b|\b\d{{1,2}}:\d{{2}}\b|\b(19|20)\d{{2}}\b|"
                   r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
_TIME_UNIT = r"(second|minute|hour|day|week|fortnight|month|quarter|year)s?"
_NUM_WORD = (r"(\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
             r"forty|fifty|sixty|ninety|hundred|a|an|a single|one or two)")
_DURATION = re.compile(rf"\b{_NUM_WORD}[- ](?:[\w-]+[- ]){{0,2}}?{_TIME_UNIT}\b|\b\d+-{_TIME_UNIT}\b", re.I)
_FREQUENCY = re.compile(rf"\b(annually|annual|yearly|monthly|weekly|daily|quarterly|once a|twice a|"
                        rf"(every|each|per|a) (\w+ )?({_TIME_UNIT}|{_MONTH}|Monday|Tuesday|Wednesday|Thursday|Friday))\b",
                        re.I)  # "every 12 months", "each year", not "every application form"
_AT_ONCE = re.compile(r"\b(immediately|at once|straight away|without delay|as soon as|same day|same working day|"
                      r"next working day)\b", re.I)
_FORM_CODE = re.compile(r"\b[A-Z]{1,4}-\d{1,3}\b")
_PHONE = re.compile(r"\b(extension \d{3,}|\d{3,}[ \d]{4,}|\+\d[\d ]{6,})")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_YEAR = re.compile(r"\b(19|20)\d{2}\b")
_OLD_INTENT = re.compile(r"\b(old|older|previous|previously|former|earlier|superseded|rescinded|withdrawn|"
                         r"repealed|used to|still|did|was|were|had to)\b", re.I)


@dataclasses.dataclass
class Question:
    text: str
    terms: tuple  # key terms (stems), question words dropped
    groups: tuple  # per key term: its alternatives, each a frozenset of stems (synonyms)
    wants: str  # "count", "time", "quantity", "form", "phone", "email", "name" or ""
    numbers: tuple
    old_intent: bool
    years: tuple
    units: frozenset = frozenset()  # "count": stems of the thing counted


def _key_text(text):
    return " ".join(w for w in _WORD.findall(text) if w.lower().replace("’", "'") not in QUESTION_WORDS)


def _wants(text):
    if _FORM_Q.search(text):
        return "form", frozenset()
    if _EMAIL_Q.search(text):
        return "email", frozenset()
    if _PHONE_Q.search(text):
        return "phone", frozenset()
    if _NAME_Q.search(text):
        return "name", frozenset()
    m = _COUNT_Q.search(text)
    if m:
        words = [w for w in m.group(1).lower().split() if w not in _COUNT_SKIP]
        units = frozenset(t for w in words[:2] for t in analyse(w))
        if units & _PEOPLE:
            units |= _PEOPLE
        if units:
            return "count", units
    if _TIME_Q.search(text) and not _LENGTH_Q.search(text):
        return "time", frozenset()
    if _QUANTITY_Q.search(text):
        return "quantity", frozenset()
    return "", frozenset()


def read_question(text, synonyms=None):
    terms = tuple(dict.fromkeys(t for t in analyse(_key_text(text)) if not t.isdigit()))
    groups = []
    for term in terms:
        alts = {frozenset([term])}
        if synonyms is not None:
            alts |= {frozenset(analyse(p)) for p in synonyms.expansions(term) if analyse(p)}
        groups.append(tuple(alts))
    wants, units = _wants(text)
    numbers = tuple(re.sub(r"[,\s]", "", n) for n in re.findall(r"\d[\d,]*", text) if not _YEAR.fullmatch(n))
    years = tuple(m.group(0) for m in _YEAR.finditer(text))
    return Question(text, terms, tuple(groups), wants, numbers, bool(years or _OLD_INTENT.search(text)), years,
                    units)


def holds_kind(question, sentence, known=frozenset()):
    """Whether ``sentence`` holds the kind of thing ``question`` asks for.
    ``known``: stems that are not an answer to "what is it called" (the
    page's title, section and owning unit)."""
    known = frozenset(question.terms) | known if question.wants == "name" else frozenset()
    return _holds(question.wants, question.units, known, sentence)


@functools.lru_cache(maxsize=50_000)
def _holds(wants, units, terms, sentence):
    if wants == "form":
        return bool(_FORM_CODE.search(sentence))
    if wants == "phone":
        return bool(_PHONE.search(sentence))
    if wants == "email":
        return bool(_EMAIL.search(sentence))
    if wants == "name":
        return any(_is_name(w) and not set(analyse(w)) <= terms for w in _WORD.findall(sentence)[1:])
    if wants == "count":
        return _counts(units, sentence)
    if wants == "time":
        return bool(_DURATION.search(sentence) or _DATE.search(sentence) or _FREQUENCY.search(sentence)
                    or _AT_ONCE.search(sentence))
    if wants == "quantity":
        return bool(_NUMBER.search(sentence) or _DATE.search(sentence))
    return True


def _is_name(word):
    """A capitalised word ("SpeakSafe", "Northmere", "eProcure"), not an
    acronym ("DPO") or a lower-case word."""
    bare = word[:-1] if word.endswith("s") else word  # "DPIAs" is an acronym
    return (any(c.islower() for c in bare)
            and (word[0].isupper() or any(c.isupper() for c in word[1:])))


_TOKENS = re.compile(r"[\w]+(?:[.,]\d+)*")


def _counts(units, sentence):
    """A number followed within three words by one of ``units``."""
    tokens = _TOKENS.findall(sentence)
    for i, tok in enumerate(tokens):
        if tok[0].isdigit() or tok.lower() in _NUMBER_WORDS:
            for nxt in tokens[i + 1:i + 4]:
                if any(t.startswith(u) for t in analyse(nxt) for u in units):  # "quot": quotes, quotations
                    return True
    return False


_NUMBER_WORDS = frozenset("one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty "
                          "forty fifty hundred thousand million single".split())


def holds_numbers(question, sentence):
    """Every number the question gives ("a 30,000 purchase") is in the
    sentence, or the sentence gives a range around it ("from 10,000 up to
    50,000")."""
    if not question.numbers:
        return True
    digits = re.sub(r"[,\s]", "", sentence)
    found = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", re.sub(r"(?<=\d),(?=\d{3})", "", sentence))]
    for n in question.numbers:
        if n in digits:
            continue
        v = float(n)
        if not (any(x <= v for x in found if x >= v / 20) and any(x >= v for x in found)):
            return False
    return True
