"""What keeps a crisis phrase from flagging: negation, contrast (prevention, media, idioms), someone else's
suicide; and misspelt key words found by edit distance.

Negation's reach is kept short, because over-reaching negation hides disclosures: see
``negated``.
"""

from __future__ import annotations

import re

from core.safety.crisis_categories import IDEATION, PLAN, SELF_HARM

# Someone else's completed suicide: a risk factor, shown apart from the crisis banner.
OTHER_SUICIDE_PHRASE = re.compile(
    r"\b(?:died|death|dying)\s+(?:by|from|of|through)\s+suicide\b|\bcommitted\s+suicide\b|\bcompleted\s+suicide\b|"
    r"\b(?:killed|hanged|hung|shot|drowned)\s+(?:him|her|them)sel(?:f|ves)\b|"
    r"\btook\s+(?:his|her|their)\s+(?:own\s+)?li(?:fe|ves)\b|\bended\s+(?:his|her|their)\s+(?:own\s+)?li(?:fe|ves)\b|"
    r"\blost\s+(?:my|his|her|their|a|an|two|both)\s+(?:\w+\s+){0,2}to\s+suicide\b|"
    r"\bsuicide\s+of\s+(?:my|his|her|their|a|an|the)\s+\w+|"
    r"\b(?:his|her|my|their|a|the)\s+(?:\w+\s+)?\w+'s\s+suicide\b|"
    r"\b(?:father|mother|dad|mum|mom|brother|sister|uncle|aunt|cousin|friend|son|daughter|husband|wife|partner|"
    r"grand(?:father|mother|pa|ma)|boyfriend|girlfriend|classmate|colleague|co-?worker|neighbou?r|parent|sibling|"
    r"child|fiance\w*|stepfather|stepmother|stepbrother|stepsister|nephew|niece)'s\s+suicide\b|"
    r"\b(?:family|familial|maternal|paternal|fh)\s+(?:history|hx)\s+of\s+(?:completed\s+)?suicide\b|"
    r"\bfh\s*:?\s*suicide\b|\bse\s+suicido\b|\bs'est\s+suicide\b|\bhat\s+sich\s+(?:umgebracht|das\s+leben\s+genommen)\b|"
    r"\bse\s+(?:matou|suicidou)\b|\bsi\s+e\s+(?:ucciso|uccisa|suicidat[oa]|tolto\s+la\s+vita)\b"
)
# What turns "killed himself" back into the patient's own risk ("almost killed himself", "wants to ...").
NOT_COMPLETED = re.compile(r"\b(?:almost|nearly|tried|attempted|try|trying|wants?|wanted|going|gonna|would|could|"
                            r"might|will|threaten\w*|plan\w*|about|intend\w*|wish\w*|thinking|thought|consider\w*|"
                            r"to)\s+(?:to\s+)?(?:have\s+)?$")

# The bare word "suicide" in prevention, statistics or media context: considered, not flagged.
CONTRAST_CONTEXT = re.compile(
    r"\b(?:prevention|awareness|hotline|helpline|lifeline|training|workshop|course|webinar|statistics|rates?|"
    r"research|study|studies|documentary|film|movie|novel|book|series|show|episode|podcast|article|news|"
    r"newspaper|headline|lecture|essay|report\s+on|character|song|lyrics|squad|bomb\w*|risk\s+assessment|"
    r"screening|gatekeeper|postvention|campaign|charity|charities|fundrais\w*|volunteer\w*|assess|assessing|"
    r"assessments?|policy|policies|protocol|leaflets?|posters?|e-?learning|module|services|support\s+group|"
    r"clinic|team|ward\s+round|donat\w*|marathon|sponsor\w*)\b")

# Phrases whose meaning already includes the negation: never cancelled by a cue.
_SELF_NEGATING = re.compile(
    r"(?:don'?t|do not|didn'?t|dont|doesn'?t|does not|no\s+longer)\s+(?:want\s+to|wanna)\s+|"
    r"(?:don'?t|do\s+not|can'?t|cannot)\s+see\s+(?:any|another)\s+|"
    r"no\s+(?:reason|point|purpose)\s+|"
    r"(?:life|living)\s+(?:is|isn'?t|is\s+not|feels)|not\s+worth|no\s+quiero|nao\s+quero|non\s+voglio|"
    r"ne\s+veux|nicht\s+mehr|plus\s+envie|(?:won'?t|will\s+not|not\s+going\s+to)\s+be"
)

_NEGATION_CUES = re.compile(
    r"\b(?:denie[sd]|deny|denying|no|not|never|without|negative\s+for|nor|free\s+of|absence\s+of|"
    r"doesn'?t|does\s+not|didn'?t|did\s+not|isn'?t|is\s+not|wasn'?t|n't|don'?t|dont|do\s+not|non|nao|nunca|"
    r"jamais|nie|pas|aucune?|sans|nessun\w*|niente|nada|"
    r"kein\w*|ningun\w*|nega|niega|nie\s+gehabt|no\s+current|no\s+evidence\s+of|rules?\s+out|ruled\s+out)\b"
)
# A charting form after the phrase: "SI: denied", "suicidal ideation - none", "SI/HI neg".
_POSTFIX_NEGATION = re.compile(
    r"^\s*(?:ideation|thoughts?|behaviou?rs?|intent|urges?)?\s*(?:/\s*h\.?i\.?\s*)?(?:[:\-=–]|was|were|is|are)?\s*"
    r"[\"'“]?\s*(?:none|denied|negative|neg|nil|absent|not\s+present|ruled\s+out|no)\b|"
    r"^\s*(?:ideation|thoughts?|of\s+death|of\s+dying)?[^.;!?\n]{0,12}?\b(?:and\s+)?(?:said|says|answered|replied|"
    r"responded)\s*:?\s*[\"'“]?\s*(?:no|none|never|not\s+at\s+all)\b")
_CLAUSE_BREAK = re.compile(r"[.;!?\n]|\bbut\b|\bhowever\b|\balthough\b|\bthough\b|\bexcept\b|\bpero\b|\bmais\b|"
                           r"\baber\b|\bmas\b|\bma\b")
# Reported speech and a change of time start a new statement that an earlier cue does not reach.
_FRESH_START = re.compile(
    r"\b(?:says?|said|reports?|reported|states?|stated|admits?|admitted|endorses?|endorsed|describes?|described|"
    r"tells?|told|expresse[sd]|disclose[sd]|now|yet|still|today|currently|wrote|writes|texted|posted)\b"
)
# Cues that negate a whole comma-separated list ("denies SI, self-harm, or plan").
_LIST_CUES = re.compile(r"\b(?:denie[sd]|deny|denying|negative\s+for|free\s+of|absence\s+of|no\s+evidence\s+of)\b")
# First words of phrases that name a thing; any other first word starts a predicate ("has a plan").
_NOUN_STARTS = {"suicidal", "suicide", "suicidality", "self-harm", "self", "selfharm", "thoughts", "thought", "si",
                "s/i", "overdose", "overdoses", "goodbye", "better", "nssi", "intent", "plan", "previous", "prior",
                "past", "suicidio", "suizid", "suizidgedanken", "ideas", "idees", "pensamentos", "pensieri",
                "self-injury", "lethal", "fresh", "selbstmord", "selbstmordgedanken"}

# Key words with their common misspellings caught by edit distance.
_KEYWORDS = {"suicide": IDEATION, "suicidal": IDEATION, "overdose": PLAN, "overdosed": PLAN,
             "self-harm": SELF_HARM, "selfharm": SELF_HARM, "suicidio": IDEATION, "unalive": IDEATION}
_NOT_MISSPELLINGS = {"suicides", "overdoses", "selfharm", "suicida", "suicidas", "suicidal", "suicido", "overdosing"}

def _edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (optimal string alignment), stopping early past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def fuzzy_keywords(lowered: str) -> list[tuple[str, int, int]]:
    """Misspelt key words ("sucidal", "overdoze") as (category, start, end)."""
    hits = []
    for match in re.finditer(r"[a-z][a-z\-]{4,}", lowered):
        word = match.group(0)
        if word in _KEYWORDS or word in _NOT_MISSPELLINGS:
            continue  # exact words are the patterns' job
        for key, category in _KEYWORDS.items():
            limit = 1 if len(key) < 8 else 2
            if key.startswith("overdos") and not re.search(r"d[oa0]?e?[sz]|[sz]d", word):
                continue  # "overcome", "overdone", "overdue" are words, not misspellings of "overdose"
            if word[0] == key[0] and _edit_distance(word, key, limit) <= limit:
                hits.append((category, match.start(), match.end()))
                break
    return hits


_NOT_AN_OPTION = re.compile(r"^\s+(?:is|was|would\s+be|'s)\s*(?:not|n't|never)\s+(?:ever\s+)?(?:something|an\s+option|"
                            r"on\s+the\s+table|for\s+me|what\s+(?:i|he|she)\s+want)")


def is_negated(text: str, start: int, end: int, phrase: str) -> bool:
    if _SELF_NEGATING.match(phrase):
        return False
    if _NOT_AN_OPTION.match(text[end:end + 40]):
        return True
    first = phrase.split()[0] if phrase.split() else ""
    if first in _NOUN_STARTS and _POSTFIX_NEGATION.match(text[end:end + 24]):
        return True
    clause_start = 0
    for m in _CLAUSE_BREAK.finditer(text, 0, start):
        clause_start = m.end()
    for m in _FRESH_START.finditer(text, clause_start, start):
        clause_start = m.end()
    # Only cues within about eight words of the phrase count ("denies any thoughts of ...").
    window = " ".join(text[clause_start:start].split()[-8:])
    cues = list(_NEGATION_CUES.finditer(window))
    if not cues:
        return False
    cue = cues[-1]
    between = window[cue.end():]
    if "," in between and not _LIST_CUES.search(window[:cue.end()]):
        return False
    if first not in _NOUN_STARTS and re.search(r"(?:,|\band|\bor|\bthen)\s*$", between):
        return False
    # "not only ... but", "no one knows he wants to die": a cue tied to another word does not negate the phrase.
    if re.match(r"\s*(?:one|only|matter|doubt|wonder|longer\s+just)\b", between):
        return False
    return True


_SI_CONTEXT = re.compile(r"(?:denie[sd]|endorse[sd]|reports?|passive|active|current|no|with|any|\+|hx\s+of|"
                         r"history\s+of|intermittent|chronic|fleeting)\s+$")


def clinical_si(text: str, norm: str, s: int, e: int, ns: int, ne: int) -> bool:
    """"SI" as the clinical abbreviation: upper case, or lower case in charting context ("denies si", "si/hi")."""
    if text[s:e].isupper():
        return True
    return bool(re.match(r"\s*/\s*hi\b|\s*[:\-]", norm[ne:ne + 6]) or _SI_CONTEXT.search(norm[max(0, ns - 20):ns]))


# Media or fiction named before the phrase in the same sentence, with no reported speech between them:
# "the song about a kid who wants to die", "the novel's character takes her own life".
_MEDIA_BEFORE = re.compile(r"\b(?:novel|film|movie|show|series|song|poem|book|character|documentary|headline|article|"
                           r"episode|game|play|story|lyrics|podcast|anime|manga|comic|news)\b")
_SPEECH = re.compile(r"\b(?:says?|said|tells?|told|reports?|reported|admits?|admitted|feels?|felt|thinks?|thought|"
                     r"i|me|my|i'm|i've)\b")
IDIOM_AFTER = re.compile(
    r"^\s+(?:of|from|with)\s+(?:embarrassment|shame|boredom|laughter|laughing|cringe|cuteness|excitement|happiness|"
    r"jealousy|envy|curiosity|hunger|thirst|heat|the\s+heat|suspense|anticipation)\b|^\s+laughing\b|"
    r"^\s+on\s+(?:chocolate|sugar|caffeine|coffee|candy|sweets|cake|netflix|tv|pizza|cookies|carbs|"
                          r"junk\s+food|cuteness|sunshine|memes|anime|love|vitamin\s+\w+)\b")


def media_context(norm: str, start: int, end: int) -> bool:
    ls, _ = sentence_bounds(norm, start, end)
    before = norm[ls:start]
    media = list(_MEDIA_BEFORE.finditer(before))
    return bool(media) and not _SPEECH.search(before, media[-1].end())


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    rights = [i for i in (text.find(c, end) for c in ".!?\n") if i != -1]
    return left, (min(rights) if rights else len(text))



# Someone else's death from an overdose (news, a funeral, grief): not the patient's act.
_OTHERS_OVERDOSE_BEFORE = re.compile(r"\b(?:who|which|that|from|of|after|in)\s+(?:an?\s+|the\s+|his\s+|her\s+|their\s+)?"
                                     r"(?:(?:accidental|drug|heroin|fentanyl|opioid|suspected|apparent|fatal)\s+)*$")
_DEATH_WORDS = re.compile(r"\b(?:died|dead|death|deaths|funeral|passed\s+away|killed|fatal|lost|obituary|"
                          r"memorial|headline|news|reported)\b")
# Words that name a service, a topic or a charity when they stand before or after a crisis noun.
SERVICE_NOUNS = re.compile(r"suicid\w*|self[-\s]?(?:harm|injur)\w*|nssi|overdos\w*")


def others_overdose(norm: str, start: int, end: int) -> bool:
    """"died from an accidental overdose", "a coworker who overdosed" (with a death in the sentence)."""
    if not norm[start:end].startswith(("overdos", "od")):
        return False
    ls, le = sentence_bounds(norm, start, end)
    return bool(_OTHERS_OVERDOSE_BEFORE.search(norm[max(ls, start - 40):start])) and bool(
        _DEATH_WORDS.search(norm, ls, le))


# A wish to join someone who has died ("ever since Dad died I just want to go and be with him", "ready to join her
# late husband"): a wish to be dead, read only after a person's death in the same sentence ("my phone died" and
# "we lost the match" are not one), and only with a pronoun that stands for that person, not a possessive ("be with
# her children").
_REUNION = re.compile(r"\b(?:wants?|wanted|wanting|wish(?:es|ed)?|ready|long(?:s|ing)?|thinks?|thinking|going|gonna|"
                      r"could|should)\s+(?:to\s+|about\s+|of\s+|(?:i|she|he)\s+could\s+)?(?:just\s+)?"
                      r"(?:go\s+(?:and\s+)?)?(?:join(?:ing)?|be(?:ing)?\s+with|follow(?:ing)?)\s+"
                      r"(?:(?P<late>(?:my|his|her|their)\s+late\s+\w+)|(?:him|her)(?=\s*(?:[.,!?;]|$)|\s+(?:again|now|"
                      r"soon|forever|there|already|too|someday|one\s+day|in\s+heaven|wherever|and|but|so)\b))")
_PERSON = (r"(?:mum|mom|mother|mam|dad|father|husband|wife|son|daughter|brother|sister|grandma|grandmother|granny|"
           r"nan|nana|grandpa|grandfather|grandad|uncle|aunt|auntie|cousin|friend|partner|boyfriend|girlfriend|"
           r"fianc\w*|baby|child|twin|he|she|they)")
_PERSON_DIED = re.compile(rf"\b{_PERSON}\s+(?:\w+\s+){{0,2}}(?:died|passed(?:\s+away|\s+on)?|was\s+killed)\b|"
                          r"\b(?:death|funeral|grave|loss)\s+of\b|'s\s+(?:death|funeral|grave|passing)\b|"
                          r"\b(?:since|after)\s+(?:the\s+)?(?:funeral|death)\b")


def reunion_wishes(lowered: str) -> list[tuple[str, int, int]]:
    """A wish to join someone who died, as (category, start, end) of the wish: "her late husband" in it, or a
    person's death before it in the same sentence."""
    hits = []
    for m in _REUNION.finditer(lowered):
        ls, _ = sentence_bounds(lowered, m.start(), m.end())
        if m.group("late") or _PERSON_DIED.search(lowered, ls, m.start()):
            hits.append((IDEATION, m.start(), m.end()))
    return hits
