"""Offline, rule-based de-identification of clinical text.

Used wherever text leaves the treating clinician: reviewer views, exports and
logs. No model is downloaded; the rules are regular expressions for structured
identifiers (emails, URLs, phone, record and social-security-like numbers,
dates, street addresses, postcodes) plus names found three ways: a context cue
("Mr.", "Dr.", "my sister Anna", "named", "Patient:"), a list of common first
names, and a surname list after a known first name or title.

It is deliberately greedy for structured identifiers (a redacted number that
was not an identifier costs little; a leaked one costs a lot) and careful with
capitalised words, which are often not names. Recall and precision on a
labelled synthetic set are measured in ``tests/test_deid.py``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

__all__ = ["Span", "find_identifiers", "deidentify", "PHIRedactingFilter", "install_log_redaction", "KINDS"]

KINDS = ("NAME", "DATE", "PHONE", "EMAIL", "ADDRESS", "ID", "URL")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str
    text: str


# ---------------------------------------------------------------- word lists
# Common given names (English-speaking, European, South Asian, East Asian, Arabic, African, Latin American).
# Names that are also everyday English words (Will, May, Hope, Mark, Bill, Grace...) are in AMBIGUOUS_NAMES and
# only count after a cue or before a surname.
FIRST_NAMES = set("""
aaron abdul abigail adam adrian ahmed aisha alan albert alex alexander alexandra alfie ali alice alicia alison amanda
amber amelia amir amy ana andrea andrew angela anita ann anna anne annie anthony antonio anya arjun arthur ashley
aubrey ava barbara beatrice ben benjamin beth bethany betty beverly brandon brenda brian bridget bruce bryan caitlin
caleb cameron carl carlos carmen carol caroline carolyn catherine charles charlotte chen chloe chris christina christine
christopher claire clara colin connor craig cynthia daniel daniela david deborah debra denise dennis derek diana diane
diego dmitri donald donna doris dorothy douglas dylan edward eleanor elena elijah elizabeth ella ellen emily emma eric
erik ethan eva evelyn fatima felix fiona francesca frank gabriel gareth gary george georgia gerald gloria gordon
gregory hannah harold harper harry hassan heather helen henry holly hugo ian imran irene isaac isabel isabella ivan
jack jacob james jamie jane janet janice jasmine jason javier jean jeffrey jennifer jeremy jessica jill joan joanna joe
john jonathan jorge jose joseph joshua joyce juan judith julia julie justin karen kate katherine kathleen kathryn katie
keith kelly kenneth kevin kimberly kyle laura lauren leah lena leo liam lily linda lisa logan lois lorenzo louis louise
lucas lucy luis luke madison maria marie marilyn martha martin mary mason matthew megan melissa mia michael michelle
mohammed muhammad nancy naomi natalie nathan nicholas nicole niamh noah olga oliver olivia omar oscar owen pamela
patricia patrick paul paula peter philip priya rachel rahul raj rajesh ralph ravi rebecca richard robert roger ronald
rosa ruth ryan samantha samuel sandra sara sarah scott sean sharon shirley simon sofia sophia sophie stephanie stephen
steven susan tanya teresa theresa thomas timothy tom tyler valentina valerie victoria vincent walter wei wendy william
xavier yusuf zachary zara zoe zoë yuki hiroshi kenji mei ling jun hana sven lars ingrid astrid pierre jacques amelie
chiara giulia marco matteo lukas jonas leon finn mateo santiago camila valeria lucia kwame amara chidi ngozi kofi
abena thabo sipho deepak anil sunita pooja neha vikram sanjay fernando rafael beatriz joao pedro ines tiago aleksandr
natasha svetlana katarzyna piotr tomasz agnieszka bogdan nikos eleni yasmin layla noor samir karim youssef mariam
""".split())
AMBIGUOUS_NAMES = set("""
will may june april august hope faith grace joy rose mark bill art dawn summer autumn sky rich frank jack iris
""".split())
SURNAMES = set("""
smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson anderson
thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis robinson walker young
allen king wright scott torres nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter roberts
patel khan singh shah ahmed ali hussain kumar sharma gupta chen wang li zhang liu yang huang zhao wu zhou murphy kelly
obrien o'brien byrne walsh ryan evans davies hughes edwards morgan jenkins price lloyd owen cooper ward cox richardson
wood watson brooks bennett gray grey james reyes cruz hughes myers ford hamilton graham sullivan wallace woods cole
west jordan reynolds marshall kim park choi kowalski nowak muller müller schmidt schneider fischer weber meyer wagner
becker rossi russo ferrari esposito bianchi romano dubois moreau laurent lefebvre silva santos ferreira pereira oliveira
costa ivanov petrov smirnov okafor mensah adeyemi nakamura tanaka suzuki sato watanabe fitzgerald oconnor o'connor
mcdonald macdonald stewart fraser henderson ross morrison murray kennedy
""".split())

_TITLES = (r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Doctor|Nurse|Sister|Father|Rev|Sir|Dame|Lady|Lord|Aunt|Auntie|"
           r"Uncle|Grandma|Grandpa|Nan|Cousin)")
_RELATIONS = (
    r"(?:sister|brother|mother|father|mum|mom|mam|dad|daddy|mummy|mommy|wife|husband|partner|spouse|son|daughter|"
    r"friend|best friend|boyfriend|girlfriend|fianc[eé]e?|aunt|auntie|uncle|cousin|niece|nephew|grandmother|"
    r"grandfather|grandma|grandpa|granny|nan|stepmother|stepfather|stepson|stepdaughter|therapist|counsellor|"
    r"counselor|psychiatrist|gp|doctor|nurse|boss|manager|colleague|coworker|co-worker|roommate|flatmate|housemate|"
    r"neighbour|neighbor|carer|caregiver|social worker|key worker|ex|ex-wife|ex-husband|ex-partner|baby|child|"
    r"teacher|landlord|sibling|twin|dog|cat)"
)
# A capitalised name word: Anna, Zoë, O'Brien, McDonald, Anne-Marie.
_UP = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽ"
_LOW = "a-zß-öø-ÿāăąćĉċčďđēĕėęěĝğġģĥħĩīĭįıķĺļľŀłńņňŋōŏőœŕŗřśŝşšţťŧũūŭůűųŵŷźżž"
_CAP = rf"[{_UP}](?:[{_LOW}]+(?:[{_UP}][{_LOW}]+)?|['’][{_UP}][{_LOW}]+)(?:-[{_UP}][{_LOW}]+)?"
_NAME2 = rf"{_CAP}(?:\s+(?:[A-Z]\.\s*)?{_CAP})?"     # one or two words, optional middle initial

_MONTHS = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
           r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_STREET = (r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Place|Pl|Way|Terrace|Close|"
           r"Crescent|Gardens|Square|Sq|Parkway|Pkwy|Highway|Hwy|Row|Mews|Grove|Hill)")
_US_STATES = ("AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
              "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC").split()
_ID_CUES = (r"(?:MRN|medical record(?: number| no\.?)?|record(?: number| no\.?| #)|hospital (?:number|no\.?)|"
            r"patient (?:id|number|no\.?)|case (?:number|no\.?)|NHS(?: number| no\.?)?|SSN|social security(?: number)?|"
            r"NI(?: number| no\.?)|national insurance(?: number)?|insurance(?: number| no\.?| id)?|policy(?: number| no\.?)?|"
            r"member id|account(?: number| no\.?)?|licen[cs]e(?: number| no\.?)?|passport(?: number| no\.?)?|"
            r"ID|id number|ref|reference(?: number| no\.?)?|our ref|your ref)")

# (kind, compiled regex, group holding the identifier or 0). Order = priority on overlap.
_RULES: list[tuple[str, re.Pattern, int]] = [
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), 0),
    ("URL", re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"')\]]+", re.I), 0),
    ("URL", re.compile(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|io|co\.uk|org\.uk|nhs\.uk|de|fr|"
                       r"info|me|ly)(?:/[^\s<>\"')\]]*)?\b", re.I), 0),
    ("ID", re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b"), 0),  # IP address
    ("ID", re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), 0),  # SSN-like
    ("ID", re.compile(rf"\b{_ID_CUES}\b\s*(?:is|was|=|:|#|no\.?)?\s*[:#]?\s*"
                      rf"((?=[A-Z0-9./-]*\d)[A-Z0-9][A-Z0-9./-]{{2,}}(?:\s\d{{3,4}})*)", re.I), 1),
    ("ID", re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b"), 0),  # UK National Insurance
    ("ID", re.compile(r"\b(?:MRN|ID|PT|CASE|REF)[-#:]?\d{3,}\b", re.I), 0),
    ("ADDRESS", re.compile(
        rf"\b(?:(?:Flat|Apt|Apartment|Unit|Suite)\.?\s*\w+,?\s+)?\d{{1,5}}[A-Za-z]?\s+(?:[A-Z][a-z'’]+\s+){{1,3}}{_STREET}\.?"
        rf"(?:,?\s+(?:Apt|Apartment|Unit|Flat|Suite|#)\.?\s*\w+)?"
        rf"(?:,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)?"
        rf"(?:,?\s*(?:{'|'.join(_US_STATES)})\b)?"
        rf"(?:,?\s*\d{{5}}(?:-\d{{4}})?)?"
        rf"(?:,?\s*[A-Z]{{1,2}}\d[A-Z\d]?\s?\d[A-Z]{{2}})?"), 0),
    ("ADDRESS", re.compile(r"\b(?:P\.?\s?O\.?\s?Box|PO Box)\s+\d+\b", re.I), 0),
    ("ADDRESS", re.compile(r"\b(?:[A-Z][a-z]+,?\s)?[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b"), 0),  # [town] UK postcode
    ("ADDRESS", re.compile(rf"\b(?:{'|'.join(_US_STATES)})\s+\d{{5}}(?:-\d{{4}})?\b"), 0),  # state + ZIP
    ("ADDRESS", re.compile(r"\b(?:lives (?:at|on)|address(?: is)?:?|resides at)\s+((?:\d+\s+)?(?:[A-Z][a-z]+\s?){1,4})"),
     1),
    ("DATE", re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?\b"), 0),
    ("DATE", re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b"), 0),
    ("DATE", re.compile(r"\b\d{4}/\d{1,2}/\d{1,2}\b"), 0),
    ("DATE", re.compile(r"\b(?:Christmas|Easter|New Year'?s?(?: Day| Eve)?|Thanksgiving|Boxing Day|Halloween|Diwali|"
                        r"Eid|Hanukkah|Ramadan)\s+\d{4}\b"), 0),
    ("DATE", re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\.?,?(?:\s+\d{{4}}|\s+'\d{{2}})?\b"), 0),
    ("DATE", re.compile(rf"\b{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b"), 0),
    ("DATE", re.compile(r"\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|Jun(?:e)?|Jul(?:y)?|Aug(?:ust)?|"
                        r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?|May)\.?\s+\d{4}\b"), 0),
    ("PHONE", re.compile(
        r"(?<![\w/.-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{2,5}[\s.-]\d{3,6}(?:[\s.-]\d{3,4})?"
        r"(?:\s*(?:ext\.?|x)\s*\d{1,5})?(?![\w/-])"), 0),
    ("PHONE", re.compile(r"(?<![\w-])(?:\+\d{1,3}\s?)?0?\d{10,11}(?![\w-])"), 0),
    ("ID", re.compile(r"(?<![\w.-])\d{6,}(?![\w.-])"), 0),  # any long bare number: record-like
]

_NAME_RULES: list[tuple[re.Pattern, int]] = [
    # Titles: Mr. Smith, Dr Anna Kowalski, Mrs O'Brien
    (re.compile(rf"\b{_TITLES}\.?\s+((?:[A-Z]\.\s*)?{_NAME2})"), 1),
    # Relations: my sister Anna, her husband, Tom, patient's mother Maria Lopez
    (re.compile(rf"\b(?:[Mm]y|[Hh]er|[Hh]is|[Tt]heir|[Oo]ur|[Pp]atient'?s|[Cc]lient'?s|[Tt]he)\s+(?:(?:older|younger|"
                rf"little|big|late|new|former|eldest|youngest|twin|\w+-year-old)\s+)?(?i:{_RELATIONS})\s*,?\s+"
                rf"(?:(?:is|was|called|named)\s+)?({_NAME2})"), 1),
    # A relation with the name in brackets: "Dad (Phil)", "her GP (Dr Moss)"
    (re.compile(rf"\b(?i:{_RELATIONS})\s*\(\s*(?:{_TITLES}\.?\s+)?({_NAME2})\s*\)"), 1),
    # Meeting someone: "Saw Kieran today", "spoke with Lucia"
    (re.compile(rf"\b(?:[Ss]aw|[Mm]et|[Ss]poke (?:to|with)|[Vv]isited|[Pp]honed|[Cc]alled)\s+({_NAME2})"), 1),
    # Explicit cues: named Anna, called Tom, name is ..., I'm Sam
    (re.compile(rf"\b(?:named|called|name is|name was|known as|goes by|I'm|I am|this is|signed|[Ss]igned by|"
                rf"[Rr]eferred by|[Ss]een by|[Cc]c|[Cc]ontact|[Ee]mergency contact|[Nn]ext of kin)\s*:?\s+({_NAME2})"),
     1),
    # Form fields: "Patient: John Smith", "Name: ..."
    (re.compile(rf"\b(?:[Pp]atient|[Nn]ame|[Pp]atient name|[Cc]lient|[Ff]ull name|NOK|[Nn]ext of kin|[Gg]uardian|"
                rf"[Pp]arent|[Cc]linician|[Aa]uthor|[Ss]igned|[Rr]eviewer|GP|[Rr]eferrer)\s*[:=]\s*({_NAME2})"), 1),
    # A capitalised word doing what patients do in notes: "Oksana reports", "Tariq denied"
    (re.compile(rf"\b({_CAP})\s+(?:reports|reported|says|said|states|stated|presents|presented|denies|denied|"
                rf"describes|described|feels|felt|told|explains|explained|admits|admitted|complains|endorses|"
                rf"endorsed|attended|arrived|cried|became|texted|emailed|messaged|rang|wrote|phoned)\b"), 1),
    # A name with the relation in brackets: "Bartholomew (her son, 17)"
    (re.compile(rf"\b({_NAME2})\s*\((?:[Hh]er|[Hh]is|[Tt]heir|[Tt]he patient'?s|[Mm]y)\s+(?i:{_RELATIONS})\b"), 1),
    # A name followed by an age: "Anna, 34," / "Tom (42)"
    (re.compile(rf"\b({_CAP}),?\s+(?:\(\d{{1,3}}\)|aged?\s+\d{{1,3}}\b|\d{{1,3}}\s*(?:y/?o\b|yrs?\b|years? old|-year-old))"),
     1),
]

# Capitalised words that a cue may precede but that are not names.
_NOT_NAMES = set("""
the a an and or but he she they it we i you his her their our my your this that these those there here today
yesterday tomorrow patient client doctor nurse mother father sister brother husband wife partner son daughter mum mom
dad friend is was has had have will would could should can may might must not no yes also still then when while as
at by for from in into of on to with without after before since about during again mood anxiety depression sleep
monday tuesday wednesday thursday friday saturday sunday january february march april may june july august september
october november december christmas easter phq gad bdi ham panss ssri snri cbt dbt act emdr er ed a&e icu gp nhs
hospital clinic ward unit team service services centre center client mum mom dad husband wife partner son
daughter carer staff everyone someone nobody family parents sibling children child baby who which what she he it
everything nothing something anything session visit appointment review call plan history assessment interview
sleep appetite energy work school life things music medication therapy group
""".split())


def _is_name_word(word: str) -> bool:
    return word.lower().strip("'’") not in _NOT_NAMES and len(word) > 1


def _trim_name(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Drop trailing words of a matched name that are common words ("Anna Today" -> "Anna")."""
    words = list(re.finditer(r"\S+", text[start:end]))
    while words and not _is_name_word(words[-1].group().rstrip(".,")):
        words.pop()
    if not words or not _is_name_word(words[0].group().rstrip(".,")):
        return None
    return start + words[0].start(), start + words[-1].end()


_WORD = re.compile(rf"\b{_CAP}\b")


def _listed_names(text: str) -> list[tuple[int, int]]:
    """Known first names (with a following capitalised surname) and Title-less 'First Surname' pairs."""
    out = []
    for m in _WORD.finditer(text):
        word = m.group()
        low = word.lower()
        nxt = re.match(rf"\s+(?:[A-Z]\.\s+)?({_CAP})\b", text[m.end():])
        surname = nxt and (nxt.group(1).lower() in SURNAMES or (
            _is_name_word(nxt.group(1)) and low in FIRST_NAMES))
        if low in FIRST_NAMES or (low in AMBIGUOUS_NAMES and nxt and nxt.group(1).lower() in SURNAMES):
            end = m.end() + nxt.end() if surname else m.end()
            out.append((m.start(), end))
    return out


def find_identifiers(text: str) -> list[Span]:
    """Every identifier found in ``text``, as non-overlapping spans sorted by position."""
    if not text:
        return []
    candidates: list[tuple[int, int, str, int]] = []  # start, end, kind, priority
    for prio, (kind, rx, group) in enumerate(_RULES):
        for m in rx.finditer(text):
            s, e = m.span(group)
            if s < 0 or e <= s:
                continue
            while e > s and text[e - 1] in ".,;:":
                e -= 1  # sentence punctuation after an identifier is not part of it
            if kind == "PHONE" and sum(ch.isdigit() for ch in text[s:e]) < 7:
                continue
            candidates.append((s, e, kind, prio))
    name_prio = len(_RULES)
    for rx, group in _NAME_RULES:
        for m in rx.finditer(text):
            trimmed = _trim_name(text, *m.span(group))
            if trimmed:
                candidates.append((trimmed[0], trimmed[1], "NAME", name_prio))
    for s, e in _listed_names(text):
        candidates.append((s, e, "NAME", name_prio + 1))
    # Longest first, then priority: a full address beats the postcode inside it.
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[3], c[0]))
    taken: list[tuple[int, int, str]] = []
    for s, e, kind, _ in candidates:
        if any(s < te and ts < e for ts, te, _ in taken):
            continue
        taken.append((s, e, kind))
    taken.sort()
    return [Span(s, e, kind, text[s:e]) for s, e, kind in taken]


def deidentify(text: str) -> str:
    """``text`` with every identifier replaced by its kind: [NAME], [DATE], [PHONE], [EMAIL], [ADDRESS], [ID], [URL]."""
    if not text:
        return text or ""
    out, pos = [], 0
    for span in find_identifiers(text):
        out.append(text[pos:span.start])
        out.append(f"[{span.kind}]")
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


# ---------------------------------------------------------------- logs
class PHIRedactingFilter(logging.Filter):
    """A logging filter that de-identifies the message, its arguments and any traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, "_phi_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not break logging
        message = str(record.msg)
    record.msg = deidentify(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = deidentify(record.exc_text)
    record._phi_redacted = True
    return record


_installed = False


def install_log_redaction() -> None:
    """De-identify every log record the process creates, whichever logger or handler it goes through.

    Installs a log-record factory (a filter on one logger misses records of its children). Idempotent.
    """
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        return _redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
