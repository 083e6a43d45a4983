"""Deterministic crisis-language detection: the first, high-precision layer, independent of every model.

A low model score must never hide a note that speaks of suicide or self-harm,
so this runs on every visit text with plain rules:

* **normalisation first** (``normalise``): NFKC, accents and zero-width
  characters removed, Unicode look-alikes (Cyrillic/Greek letters inside Latin
  words) mapped to Latin, digits used as letters ("su1c1de") read as letters,
  letter-spaced words ("k i l l myself", "s-u-i-c-i-d-e") joined, runs of a
  repeated letter shortened ("dieeee"). Every normalised character keeps the
  offset of the original character it came from, so matches point into the
  original text;
* phrase patterns for ideation, intent or plan, preparatory acts, past
  attempts and self-harm, in English (with online slang and euphemisms: kms,
  kys, ctb, unalive, sewerslide, ...) and common phrasings in Spanish, French,
  German, Portuguese and Italian;
* tolerance for misspellings of the key words (edit distance 1-2 on words of
  6+ letters, e.g. "sucide", "suicdal", "overdoze") and dropped letters in
  "myself" ("myslf", "mysef");
* negation: a cue such as "denies", "no", "not", "never", "without" before the
  phrase in the same clause, or a charting form after it ("SI: denied"),
  cancels it. Its reach is kept short, because over-reaching negation hides
  disclosures:
  - the clause ends at "but", "however", ";" or a sentence end, so "denies SI
    but cut herself last week" still flags the self-harm;
  - reported speech starts afresh: "no appetite, says she wants to die";
  - a bare "no"/"not"/"never"/"without" stops at a comma, while list negators
    ("denies", "negative for", "free of") cover a comma-separated list;
  - a new predicate after "and" or a comma is not negated.
  Phrases that carry their own negation ("don't want to live", "no reason to
  live") are never cancelled;
* contrast: the bare word "suicide" in prevention, awareness, statistics or
  media context ("suicide prevention training", "a film about suicide") is
  kept as considered, not flagged;
* someone else's completed suicide ("her uncle died by suicide", "his father
  took his own life") is a risk factor, not the patient's ideation: it gets its
  own category, ``OTHER_SUICIDE``, which the dashboard shows as a calm notice.

Over-flagging is the safe failure: a clinician dismisses a banner in a second,
a missed disclosure can cost a life.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

IDEATION = "suicidal ideation"
PLAN = "intent or plan"
PREPARATORY = "preparatory acts"
ATTEMPT = "past attempt"
SELF_HARM = "self-harm"
OTHER_SUICIDE = "suicide of a relative or other person: risk factor"
CRISIS_CATEGORIES = (IDEATION, PLAN, PREPARATORY, ATTEMPT, SELF_HARM)

# ----------------------------------------------------------------------------- normalisation

_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\u2061", "\u2062", "\u2063",
               "\u2064", "\ufeff", "\u00ad", "\u180e", "\u034f"}
# Look-alike letters (Cyrillic, Greek, IPA) mapped to the Latin letter they imitate.
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ӏ": "l", "ɡ": "g", "ɩ": "i", "ɪ": "i", "ʟ": "l", "ɑ": "a", "ο": "o", "α": "a", "ι": "i",
    "ν": "v", "κ": "k", "τ": "t", "ε": "e", "ρ": "p", "υ": "u", "χ": "x", "ѵ": "v", "ԍ": "g", "ɛ": "e",
    "‘": "'", "’": "'", "ʼ": "'", "`": "'", "´": "'",
})
_LEET = {"1": "i", "3": "e", "0": "o", "4": "a", "5": "s", "@": "a", "7": "t"}
_SPACED = re.compile(r"(?<![\w'])([a-z])(?:[ .\-_*·]{1,2}[a-z]){2,}(?![\w'])")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_LEET_WORD = re.compile(r"(?<![\w@])(?=[\w@]*[a-z][\w@]*[a-z])(?=[\w@]*[013457@])[a-z013457@]{3,}(?![\w@])")


def normalise(text: str) -> tuple[str, list[int]]:
    """(normalised text, offset of the original character behind each normalised character)."""
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch in _ZERO_WIDTH:
            continue
        for c in unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", ch)):
            if unicodedata.combining(c) or c in _ZERO_WIDTH:
                continue
            for low in c.translate(_CONFUSABLES).lower():
                if not unicodedata.combining(low):
                    chars.append(low)
                    where.append(i)
    norm = "".join(chars)

    def rebuild(pattern: re.Pattern, repl) -> None:
        nonlocal norm, where
        out, out_where, pos = [], [], 0
        for m in pattern.finditer(norm):
            out.append(norm[pos:m.start()])
            out_where.extend(where[pos:m.start()])
            new, new_where = repl(m)
            out.append(new)
            out_where.extend(new_where)
            pos = m.end()
        out.append(norm[pos:])
        out_where.extend(where[pos:])
        norm, where = "".join(out), out_where

    def leet(m):  # "su1c1de" -> "suicide"; pure numbers ("24/7", "5mg") never reach here
        return "".join(_LEET.get(c, c) for c in m.group(0)), where[m.start():m.end()]

    def spaced(m):  # "k i l l" -> "kill"; "I k i l l" -> "i kill" (a leading "I" or "a" is a word of its own)
        keep = [j for j in range(m.start(), m.end()) if norm[j].isalpha()]
        if norm[keep[0]] in "ia" and len(keep) >= 4:
            return (norm[keep[0]] + " " + "".join(norm[j] for j in keep[1:]),
                    [where[keep[0]], where[keep[0] + 1]] + [where[j] for j in keep[1:]])
        return "".join(norm[j] for j in keep), [where[j] for j in keep]

    def repeats(m):  # "dieeee" -> "die", "killlll" -> "kil" (the patterns accept "kil")
        return m.group(1), [where[m.start()]]

    rebuild(_LEET_WORD, leet)
    rebuild(_SPACED, spaced)
    rebuild(_REPEATS, repeats)
    return norm, where


# ----------------------------------------------------------------------------- patterns

# "myself" and friends, with dropped or swapped letters ("myslf", "mysef", "urself").
_REFL = r"(?:my|him|her|them|your|ur|one|it)\s?(?:self|slef|slf|sef|sel|selv|selves|selfs|sefl)|themself"
_REFL_SELF = r"(?:my|him|her|them|ur|your)\s?(?:self|slef|slf|sef|sel|selv|selves|sefl)|themself"
_POSS = r"(?:my|his|her|their|your|ur)"
_KILL = r"(?:k[i1]l+|kll|kil)(?:s|ing|in)?"
_PILLS = r"(?:pills?|tablets?|meds|medications?|medicine|sleeping pills|painkillers|paracetamol|tylenol|insulin|" \
         r"opioids|oxy\w*|lithium|antidepressants)"
# "killing myself laughing", "killing myself trying to finish this": idioms, not intent.
_NOT_IDIOM = (r"(?!\s+(?:laughing|with\s+laughter|trying\s+to|at\s+work|at\s+the\s+gym|to\s+(?:finish|get|make|"
              r"meet|keep|pay|please|impress)))")
_METHOD = (r"(?:die\b|kill\s+(?:my|him|her|them|one|your)\w*|end\s+(?:it(?:\s+all)?\b(?!\s+with)|"
           r"(?:my|his|her|their)\s+(?:own\s+)?(?:life|lives|existence|suffering)|things\b(?!\s+with)|everything)|"
           r"overdose\b(?!\s+on\s+(?!(?:my|his|her|their|the)\s+(?:pills|meds|medication|tablets|insulin)))|od\b|"
           r"take\s+(?:all|every|a\s+bunch|a\s+lot|the\s+whole|enough)\s+(?:of\s+)?(?:my\s+|the\s+|his\s+|her\s+)?"
           rf"(?:{_PILLS}|bottle)|jump\s+(?:off|from|in\s+front)|hang\s+(?:my|him|her|them)|shoot\s+(?:my|him|her|them)|"
           r"drown\s+(?:my|him|her|them)|slit|"
           r"crash\s+(?:my|his|her|the)\s+car|step\s+in\s+front|walk\s+into\s+traffic|not\s+be\s+(?:here|around)|"
           r"use\s+(?:the|a|his|her|my)\s+(?:gun|rope|knife|belt)|swallow|(?:not|never)\s+come\s+back)")

# (category, pattern) on normalised text.
_PATTERNS: list[tuple[str, str]] = [
    # --- ideation: wish to be dead, passive and active
    (IDEATION, r"\bsuicid(?:e|al|ality|ally|es)\b(?!\s+(?:note|letter))"),
    (IDEATION, rf"\b(?:{_KILL}|kil+ed|end|ends|ending|take|takes|taking)\s+(?:{_POSS})\s*(?:own\s+)?"
               r"(?:self|life|lfe|lyfe|lief|liife)\b"
               + _NOT_IDIOM),
    (IDEATION, rf"\b(?:{_KILL}|unaliv\w*|off|offing|offed|end|ending|delete|deleting|do|doing|top|topping|"
               rf"neck|necking|yeet|yeeting|hurl|throw|throwing|drown|drowning|shoot|shooting|poison|poisoning|"
               rf"gas|gassing|suffocate|starve|starving|rope|roping)\s+(?:{_REFL})\b(?:\s+in\b)?" + _NOT_IDIOM),
    (IDEATION, rf"\b(?:almost|nearly|could\s+have|could've|would\s+have|practically)\s+kil+ed\s+(?:{_REFL})\b"),
    (IDEATION, r"(?<!\d)(?<!\d\s)\bkms\b|\b(?:kys|ctb|sewerslide|sewer\s+slide|self\s*unalive|unalive|unaliving|toaster\s+bath|"
               r"an\s+hero|catch(?:ing)?\s+the\s+bus)\b"),
    (IDEATION, r"\b(?:wants?|wanted|wanting|wish(?:es|ed|ing)?|wanna|want\s+to|longs?\s+to|pray(?:s|ing)?\s+to)\s+"
               r"(?:to\s+)?(?:just\s+|really\s+|simply\s+)?(?:die|be\s+dead|disappear\s+forever|"
               r"stop\s+existing|not\s+exist|cease\s+to\s+exist|be\s+gone\s+(?:forever|for\s+good)|"
               r"go\s+to\s+sleep\s+forever|sleep\s+forever|never\s+wake)\b"),
    (IDEATION, r"\bwish(?:es|ed|ing)?\s+(?:i|he|she|they)\s*(?:'d|was|were|had|could|would)\s*(?:just\s+)?"
               r"(?:dead|died|die|never\s+(?:been\s+born|existed|woken)|not\s+(?:alive|born|here|exist)|"
               r"disappear|stop\s+existing|not\s+wake)"),
    (IDEATION, r"\bwish(?:es|ed|ing)?\s+(?:i|he|she|they)\s+(?:wasn'?t|weren'?t|didn'?t|did\s+not|was\s+not|"
               r"were\s+not)\s+(?:alive|born|here|exist|around)\b"),
    (IDEATION, r"\b(?:would|'d)\s+(?:rather|prefer\s+to)\s+(?:be\s+dead|die|not\s+be\s+alive)\b"),
    (IDEATION, r"\bwanna\s+(?:die|dead|disappear)\b"),
    (IDEATION, r"\bbetter\s+off\s+(?:dead|without\s+(?:me|him|her|them)|if\s+(?:i|he|she|they)\s+(?:was|were|wasn'?t|"
               r"weren'?t)\s+(?:dead|gone|here|around|alive))\b"),
    (IDEATION, r"\b(?:world|everyone|everybody|family|they|kids|people)\s+(?:would|will|'d)\s+be\s+better\s+"
               r"(?:off\s+)?without\s+(?:me|him|her|them)\b"),
    (IDEATION, r"\bend(?:ing)?\s+it\s+all\b|\bend\s+everything\b|\bmake\s+it\s+all\s+(?:stop|end)\s+for\s+good\b"),
    (IDEATION, r"\b(?:sleep|fall\s+asleep|go\s+to\s+sleep|close\s+my\s+eyes)\b[^.!?\n]{0,40}?\b(?:not|never|n't)\s+"
               r"wak(?:e|ing)(?:\s+up)?\b"),
    (IDEATION, r"\b(?:wish|hope|want|pray)\w*\s+(?:that\s+)?(?:i|he|she|they|to)?\s*(?:would\s+not|wouldn'?t|won'?t|"
               r"don'?t|do\s+not|never|not|didn'?t)\s+(?:to\s+)?wake\s+up\b"),
    (IDEATION, r"\b(?:don'?t|do not|didn'?t|dont|doesn'?t|does not|no\s+longer)\s+(?:want\s+to|wanna)\s+(?:live|be\s+alive|"
               r"be\s+here\s+any\s*more|exist|wake\s+up|be\s+on\s+this\s+earth|go\s+on|keep\s+living|"
               r"be\s+here)\b"),
    (IDEATION, r"\bno\s+(?:reason|point|purpose)\s+(?:for\s+me\s+|for\s+(?:him|her)\s+)?(?:to|in|of)\s+"
               r"(?:keep\s+|go\s+on\s+)?(?:live|living|going\s+on|being\s+alive|life|staying\s+alive)\b"),
    (IDEATION, r"\b(?:done|finished)\s+with\s+(?:living|life|being\s+alive|existing)\b"),
    (IDEATION, r"\b(?:better|happier|easier|relieved|fine)\s+(?:off\s+)?(?:if|when|once)\s+(?:i|he|she|they)\s*"
               r"(?:was|were|am|'m|wasn'?t|weren'?t|am\s+not|'m\s+not|died|die|disappeared)\s*"
               r"(?:gone|dead|not\s+here|not\s+around|here|around|alive|\b)"),
    (IDEATION, r"\b(?:wanna|want\s+to)\s+dye\b(?=\s*(?:[.,!?;]|$|(?:honestly|tbh|rn|now|tonight|so\s+bad|already)\b))"),
    (IDEATION, r"\bplan\w*\s+my\s+(?:exit|departure|way\s+out)\b(?!\s+(?:from|strategy|interview))"),
    (IDEATION, r"\b(?:life|living)\s+(?:is|isn'?t|is\s+not|feels)\s+(?:not\s+)?(?:worth\s+living|not\s+worth\s+it)\b|"
               r"\bnot\s+worth\s+living\b"),
    (IDEATION, r"\b(?:tired|sick|exhausted)\s+of\s+(?:living|being\s+alive|life|existing)\b"),
    (IDEATION, r"\bthoughts?\s+(?:of|about)\s+(?:death|dying|ending\s+(?:it|my|his|her)|not\s+being\s+here)\b"),
    (IDEATION, r"\b(?:si|s/i)\b(?=[\s,.;:)/]|$)"),
    (IDEATION, r"\b(?:won'?t|will\s+not|not\s+going\s+to)\s+be\s+(?:around|here)\s+(?:much\s+longer|for\s+long|"
               r"(?:by|after|next)\s+\w+)\b"),
    (IDEATION, r"\bthis\s+is\s+(?:my|the)\s+last\s+(?:post|message|night|day|time\s+you\s+will)\b"),
    (IDEATION, r"\b(?:death|dying)\s+(?:would\s+be|is|seems\s+like)\s+(?:a\s+)?(?:relief|peaceful|the\s+only\s+way|"
               r"the\s+answer|easier|better)\b"),
    (IDEATION, r"\b(?:if\s+i\s+had|if\s+(?:he|she)\s+had|if\s+i\s+could\s+get)\s+(?:a\s+|the\s+)?(?:gun|pills|rope|"
               rf"enough\s+{_PILLS}|{_PILLS})\b[^.!?\n]{{0,40}}\b(?:use|would|i'd|do\s+it|end|take)"),
    # --- intent or plan, method
    (PLAN, r"\b(?:have|has|had|made|making|make|got|with|has\s+got|formed|forming)\s+(?:a\s+)?(?:clear\s+|"
           r"specific\s+|detailed\s+|concrete\s+)?plan\b(?=\s*(?:[.;,!?)\n]|$|and\s+(?:intent|means|a\s+date)|"
           r"and\s+(?:i|he|she|they)\s+knows?\s+(?:when|how|where)))"),
    (PLAN, r"\b(?:take|took|taking|swallow\w*|down|downing)\s+(?:everything|all|every\s+pill|all\s+the\s+pills)\s+"
           r"in\s+(?:the|my|his|her)\s+(?:medicine\s+|bathroom\s+)?(?:cabinet|drawer|cupboard)\b"),
    (PLAN, r"\b(?:held|holding|hold|put|putting|pressed|pressing)\s+(?:a|the|his|her|my)\s+(?:knife|blade|razor|gun|"
           r"pistol|rifle)\s+(?:to|against)\s+(?:my|his|her|their)\s+(?:wrists?|throat|head|neck|chest|temple)\b"),
    (PLAN, r"\buse\s+(?:it|the\s+gun|the\s+rope|the\s+pills|them)\s+on\s+(?:my|him|her|them)sel(?:f|ves)\b"),
    (PLAN, r"\b(?:intent|plan)\s+(?:and|or|/|&)\s*(?:intent|plan|means)\b|\bwith\s+(?:intent|plan)\b"),
    (PLAN, rf"\b(?:(?:have|has|had|made|with|got|make|making)\s+(?:a\s+|the\s+)?)?plan\w*\s+(?:is\s+|was\s+)?"
           rf"(?:to|on)\b[^.!?\n]{{0,60}}?\b{_METHOD}"),
    (PLAN, rf"\b(?:going|gonna|intend\w*|decided|ready|about)\s+to\s+(?:finally\s+|just\s+)?{_METHOD}"),
    (PLAN, r"\boverdos(?:e|ed|es|ing)\b|\bo\.?d'd\b|\bo\.d\.'?d\b|\bod(?:ing|ed)\b"),
    (PLAN, rf"\b(?:take|took|taking|swallow\w*)\s+(?:all|every|a\s+bunch|the\s+whole|a\s+whole|a\s+handful|loads)\s+(?:of\s+)?"
           rf"(?:my\s+|the\s+|his\s+|her\s+|their\s+)?(?:{_PILLS}|bottle|packet|box)"),
    (PLAN, rf"\bhang(?:ing|ed)?\s+(?:{_REFL})\b|\bnoose\b"),
    (PLAN, r"\bjump(?:ing|ed|s)?\s+(?:off|from|in\s+front\s+of)\s+(?:a|the|this|that|my|his|her)?\s*"
           r"(?:bridge|building|roof|cliff|balcony|train|bus|car|tower|car\s+park|parking\s+garage|overpass|ledge|"
           r"window|\w+\s+floor)\b|\bjump(?:ing)?\s+in\s+front\s+of\b"),
    (PLAN, r"\b(?:step|stepping|walk|walking|throw|throwing)\s+(?:\w+\s+)?in\s*front\s+of\s+(?:a|the)\s+"
           r"(?:train|bus|truck|lorry|car)\b"),
    (PLAN, r"\b(?:shoot|shooting)\s+(?:my|him|her|them)sel\w*|\bgun\s+to\s+(?:my|his|her|their)\s+head\b|"
           r"\b(?:bullet|brains?)\s+(?:in|through|out)\b[^.!?\n]{0,20}\b(?:my|his|her)\s+(?:head|brain)|"
           r"\bblow\s+(?:my|his|her)\s+brains\s+out\b"),
    (PLAN, r"\b(?:slit|slitting|slice|cut|open)\s+(?:my|his|her|their)\s+(?:throat|wrists?)\b"),
    (PLAN, r"\b(?:crash|drive|driving|swerve)\w*\s+(?:my|his|her|the)\s+car\s+(?:into|off)\b[^.!?\n]{0,40}"
           r"(?:on\s+purpose|deliberately|so\s+(?:i|he|she)|and\s+end)|\bdrive\s+off\s+(?:a|the)\s+(?:cliff|bridge)\b"),
    # --- preparatory acts
    (PREPARATORY, r"\b(?:suicide|goodbye|farewell|good-bye)\s+(?:note|letter|message|video|post)s?\b"),
    (PREPARATORY, rf"\b(?:stockpil\w*|hoard\w*|sav(?:e|ed|es|ing)\s+up|collect\w*|stash\w*|sav(?:ed|ing))\s+"
                  rf"(?:up\s+)?(?:my\s+|his\s+|her\s+|their\s+|some\s+|all\s+(?:my|his|her)\s+)?{_PILLS}"),
    (PREPARATORY, r"\b(?:stockpil\w*|hoard\w*)\s+(?:up\s+)?(?:on\s+)?(?:his|her|my|their)\s+\w+"),
    (PREPARATORY, r"\b(?:bought|buy|buying|ordered|ordering|got|getting|purchas\w*|acquir\w*)\s+(?:a\s+|some\s+|"
                  r"the\s+)?(?:rope|gun|firearm|pistol|handgun|shotgun|pills|razor\s+blades?|charcoal|helium|"
                  r"nitrogen|exit\s+bag|noose)\b(?!\s+(?:for|to)\s+(?:the\s+|my\s+|a\s+|his\s+|her\s+|our\s+)?"
                  r"(?:\w+\s+)?(?:garden|boat|tent|camping|climbing|hunting|farm|work|gym|course|class|trip|swing|"
                  r"project|dog|horse|barbecue|bbq|grill|range|club|lessons?))"),
    (PREPARATORY, r"\bgiv(?:e|es|ing|en)\s+away\s+(?:all\s+)?(?:of\s+)?(?:my|his|her|their)\s+(?:\w+\s+)?"
                  r"(?:things|stuff|belongings|possessions|clothes|games|books|pets?|cats?|dogs?|guitar|records|"
                  r"jewel\w*|collection|savings|money|plants)\b"),
    (PREPARATORY, r"\b(?:look\w*|search\w*|googl\w*|research\w*|read\w*)\s+(?:up\s+)?(?:about\s+|on\s+|online\s+)?"
                  r"(?:ways|how|methods|the\s+best\s+way|the\s+easiest\s+way|painless\s+ways?|how\s+many|"
                  r"lethal|which|what\s+dose|how\s+much)\b[^.!?\n]{0,50}?\b(?:die\b|dying|kill(?:ing)?\s+(?:my|him|her|"
                  r"them|one|your)\w*|suicide|lethal|fatal|overdose|hang(?:ing)?\s+(?:my|him|her|them)\w*|"
                  r"end\s+(?:it\b|my\s+life|his\s+life|her\s+life)|pills\s+(?:would|it\s+would|to))"),
    (PREPARATORY, rf"\b(?:lethal|fatal|deadly)\s+(?:dose|amount|quantity)\b|\bhow\s+many\s+{_PILLS}\s+"
                  r"(?:would|does\s+it|it\s+takes|to)\b|\bpainless\s+(?:ways?|methods?)\b"),
    (PREPARATORY, r"\b(?:said|saying|say)\s+(?:my|his|her|their)?\s*goodbyes?\s+to\s+(?:everyone|everybody|"
                  r"(?:my|his|her|their)\s+\w+)|\bput\w*\s+(?:my|his|her|their)\s+affairs\s+in\s+order\b|"
                  r"\b(?:set|picked|chose|chosen)\s+a\s+date\b"),
    (PREPARATORY, r"\b(?:tied|tying|tie|made|making)\s+a\s+(?:noose|rope)\b|\b(?:scout\w*|checked\s+out|visited)\s+"
                  r"(?:a|the)\s+(?:bridge|cliff|roof|rooftop|railway|train\s+tracks)\b[^.!?\n]{0,40}\b(?:jump|die|end)"),
    # --- past attempts
    (ATTEMPT, rf"\b(?:tried|tries|trying|attempted|attempting|attempts?)\s+to\s+(?:{_KILL}|end|take|hang|drown|shoot|"
              rf"overdose|od|commit|unalive|off|poison|suffocate|gas|jump|cut)\b"),
    (ATTEMPT, r"\b(?:previous|prior|past|recent|earlier|failed|last|first|second|third|multiple|several)\s+"
              r"(?:suicide\s+)?attempts?\b(?!\s+(?:to|at)\s+(?!kill|end|take))"),
    (ATTEMPT, r"\b(?:survived|after)\s+(?:an?\s+|his\s+|her\s+|my\s+)?(?:suicide\s+)?attempt\b"),
    # --- non-suicidal self-injury
    (SELF_HARM, r"\bself[-\s]?(?:harm|injur|mutilat)\w*\b|\bnssi\b"),
    (SELF_HARM, r"\bused\s+to\s+(?:cut|self[-\s]?harm|burn\s+(?:my|him|her)sel\w*)\b(?!\s+(?:hair|the|grass|wood|"
                r"paper|fabric|my\s+hair|his\s+hair|her\s+hair|class|classes|school|corners|ties))"),
    (SELF_HARM, rf"\b(?:cut|cuts|cutting|burn|burns|burning|burned|burnt|hurt|hurting|harm|harming|hit|hitting|"
                rf"punch\w*|scratch\w*|carv\w*|bit|bite|biting|starve|starving|punish\w*|stab\w*|bruis\w*)\s+"
                rf"(?:{_REFL_SELF})\b"),
    (SELF_HARM, r"\b(?:cut|cutting|slit|slitting|slash\w*|carv\w*|scratch\w*|burn\w*)\s+(?:into\s+)?(?:my|his|her|their|the)?"
                r"\s*(?:arms?|wrists?|legs?|thighs?|skin|stomach|hips?|forearms?)\b"),
    (SELF_HARM, r"\b(?:fresh|new|deep|old|self[-\s]?inflicted)\s+(?:cuts|scars|burns|wounds)\b(?!\s+from\s+"
                r"(?:surgery|the\s+operation|cooking|the\s+accident))"),
    (SELF_HARM, r"\b(?:relaps\w*|urges?|clean\s+from|days?\s+clean)\s+(?:on\s+|with\s+|to\s+|from\s+)?(?:sh|s/h|"
                r"cutting|cut)\b|\bsh\s+(?:scars|urges|again|relapse)\b|\bsh'd\b"),
    (SELF_HARM, r"\b(?:razor|blade|lighter|cigarette|compass)\b[^.!?\n]{0,30}\b(?:on|to|into|against)\s+"
                r"(?:my|his|her|their)\s+(?:arms?|wrists?|skin|thighs?|legs?)\b"),
    # --- Spanish
    (IDEATION, r"\b(?:me\s+)?quiero\s+morir(?:me)?\b|\bquiero\s+(?:matarme|suicidarme|desaparecer\s+para\s+siempre|"
               r"dejar\s+de\s+existir|estar\s+muert[oa])\b|\bme\s+quiero\s+(?:matar|suicidar)\b|"
               r"\bganas\s+de\s+(?:morir|morirme|matarme|no\s+vivir)\b|\bdeseo\s+(?:morir|estar\s+muert[oa])\b"),
    (IDEATION, r"\b(?:voy\s+a|pienso\s+en|pensando\s+en|pensar\s+en)\s+(?:matarme|suicidarme|quitarme\s+la\s+vida|"
               r"acabar\s+con\s+(?:mi\s+vida|todo))\b|\bquitarme\s+la\s+vida\b|\bacabar\s+con\s+mi\s+vida\b|"
               r"\bsuicid(?:io|arme|arse|arte|a)\b|\bideas?\s+suicidas?\b|\bno\s+quiero\s+(?:seguir\s+)?(?:vivir|viviendo)\b|"
               r"\bno\s+quiero\s+estar\s+viv[oa]\b|"
               r"\bno\s+vale\s+la\s+pena\s+vivir\b|\bmejor\s+muert[oa]\b|\bdormir\s+y\s+no\s+despertar\b"),
    (SELF_HARM, r"\b(?:cortarme|me\s+corto|me\s+corte|autolesion\w*|lastimarme|hacerme\s+dano)\b"),
    (PLAN, r"\bahorcarme\b|\btirarme\s+(?:del?|de\s+un|de\s+la|al?)\s+\w+|\bcarta\s+de\s+despedida\b|"
           r"\btomarme\s+todas\s+las\s+pastillas\b"),
    (ATTEMPT, r"\bintent(?:o|e|aba)\s+(?:de\s+)?(?:suicidio|suicidarme|matarme|quitarme\s+la\s+vida)\b"),
    # --- French
    (IDEATION, r"\b(?:je\s+)?veux\s+mourir\b|\benvie\s+de\s+(?:mourir|me\s+tuer|disparaitre|en\s+finir)\b|"
               r"\bme\s+(?:tuer|suicider|foutre\s+en\s+l'air)\b|\ben\s+finir(?:\s+avec\s+(?:la|ma)\s+vie)?\b|"
               r"\bmettre\s+fin\s+a\s+(?:mes|ses|ma)\s+(?:jours|vie)\b|\bne\s+veux\s+plus\s+vivre\b|"
               r"\bplus\s+envie\s+de\s+vivre\b|\bidees?\s+(?:noires|suicidaires)\b|\bsuicidaire\b|"
               r"\bpensees?\s+suicidaires?\b|\bmieux\s+(?:vaut|vaudrait)\s+que\s+je\s+meure\b|"
               r"\bdormir\s+(?:et|pour)\s+(?:ne\s+)?(?:plus\s+jamais|jamais|pas)\s+(?:me\s+)?reveiller\b"),
    (SELF_HARM, r"\bme\s+(?:scarifier|mutiler|faire\s+du\s+mal|couper|bruler)\b|\bscarification\w*\b|"
                r"\bautomutilation\b|\bme\s+scarifie\b|\bje\s+me\s+(?:coupe|scarifie|brule)\b"),
    (PLAN, r"\bme\s+pendre\b|\bsauter\s+(?:du|d'un|de\s+la|par\s+la)\s+\w+|\blettre\s+d'adieu\b|"
           r"\bavaler\s+toutes?\s+(?:mes|les)\s+\w+"),
    (ATTEMPT, r"\btentative\s+de\s+suicide\b|\bessaye\s+de\s+me\s+(?:tuer|suicider)\b"),
    # --- German
    (IDEATION, r"\b(?:ich\s+)?(?:will|mochte|moechte|wurde\s+gerne)\s+(?:einfach\s+)?sterben\b|"
               r"\bnicht\s+mehr\s+leben\b|\bmich\s+(?:umbringen|umzubringen|toten|zu\s+toten|selbst\s+toten)\b|\bselbstmord\w*\b|"
               r"\bsuizid\w*\b|\b(?:mir|sich)\s+das\s+leben\s+(?:zu\s+)?nehmen\b|\blebensmude\b|"
               r"\bnicht\s+mehr\s+aufwachen\b|\b(?:allem|meinem\s+leben)\s+ein\s+ende\s+(?:zu\s+)?setzen\b|"
               r"\bmit\s+allem\s+schluss\s+machen\b|\bwill\s+nicht\s+mehr\s+da\s+sein\b"),
    (SELF_HARM, r"\b(?:mich\s+ritzen|ritze\s+mich|geritzt|ritzen|selbstverletz\w*|mich\s+(?:selbst\s+)?verletzen)\b"),
    (PLAN, r"\bmich\s+(?:aufhangen|erhangen|vor\s+den\s+zug\s+werfen)\b|\babschiedsbrief\w*\b|"
           r"\b(?:von\s+der|von\s+einer)\s+brucke\s+springen\b"),
    # --- Portuguese
    (IDEATION, r"\b(?:vai|vou|quer|quero|pensa\s+em|penso\s+em)\s+(?:se|me)\s+matar\b|\bquero\s+morrer\b|\b(?:me\s+matar|matar-me|me\s+suicidar|suicidar-me)\b|"
               r"\btirar\s+(?:a\s+)?minha\s+(?:propria\s+)?vida\b|\bacabar\s+com\s+(?:a\s+)?minha\s+vida\b|"
               r"\bnao\s+quero\s+mais\s+viver\b|\bpensamentos\s+suicidas\b|\bvontade\s+de\s+morrer\b|"
               r"\bsuicidio\b|\bdormir\s+e\s+nao\s+acordar\b|\bsumir\s+para\s+sempre\b"),
    (SELF_HARM, r"\b(?:me\s+cortar|me\s+cortando|me\s+corto|me\s+cortei|automutila\w*|me\s+machucar)\b"),
    (ATTEMPT, r"\btentativa\s+de\s+suicidio\b|\btentei\s+(?:me\s+matar|suicidio)\b"),
    # --- Italian
    (IDEATION, r"\bvoglio\s+morire\b|\b(?:uccidermi|ammazzarmi|suicidarmi)\b|\btogliermi\s+la\s+vita\b|"
               r"\bfarla\s+finita\b|\bnon\s+voglio\s+(?:piu\s+)?vivere\b|\bpensieri\s+suicid\w*\b|"
               r"\bsuicidio\b|\bvorrei\s+(?:morire|essere\s+mort[oa]|sparire\s+per\s+sempre)\b|"
               r"\bdormire\s+e\s+non\s+svegliarmi\s+piu\b"),
    (SELF_HARM, r"\b(?:tagliarmi|mi\s+taglio|autolesionis\w*|farmi\s+del\s+male)\b"),
    (ATTEMPT, r"\btentato\s+(?:il\s+)?suicidio\b|\bho\s+provato\s+a\s+(?:uccidermi|togliermi\s+la\s+vita)\b"),
]
_COMPILED = [(cat, re.compile(p)) for cat, p in _PATTERNS]

# Someone else's completed suicide: a risk factor, shown apart from the crisis banner.
_OTHER_SUICIDE = re.compile(
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
_NOT_COMPLETED = re.compile(r"\b(?:almost|nearly|tried|attempted|try|trying|wants?|wanted|going|gonna|would|could|"
                            r"might|will|threaten\w*|plan\w*|about|intend\w*|wish\w*|thinking|thought|consider\w*|"
                            r"to)\s+(?:to\s+)?(?:have\s+)?$")

# The bare word "suicide" in prevention, statistics or media context: considered, not flagged.
_CONTRAST_CONTEXT = re.compile(
    r"\b(?:prevention|awareness|hotline|helpline|lifeline|training|workshop|course|webinar|statistics|rates?|"
    r"research|study|studies|documentary|film|movie|novel|book|series|show|episode|podcast|article|news|"
    r"newspaper|headline|lecture|essay|report\s+on|character|song|lyrics|squad|bomb\w*|risk\s+assessment|"
    r"screening|gatekeeper|postvention|campaign|charity|fundraiser|volunteer\w*)\b")

# Phrases whose meaning already includes the negation: never cancelled by a cue.
_SELF_NEGATING = re.compile(
    r"(?:don'?t|do not|didn'?t|dont|doesn'?t|does not|no\s+longer)\s+(?:want\s+to|wanna)\s+|"
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


@dataclass(frozen=True)
class CrisisMatch:
    category: str
    phrase: str
    start: int
    end: int
    negated: bool          # True when the match does not flag: negated, contrast context or someone else's suicide
    reason: str = ""       # why it does not flag ("negated", "contrast", "risk factor"), empty when it flags
    layer: str = "rule"
    score: float | None = None


@dataclass
class CrisisResult:
    matches: list[CrisisMatch] = field(default_factory=list)

    @property
    def active(self) -> list[CrisisMatch]:
        return [m for m in self.matches if not m.negated]

    @property
    def risk_factors(self) -> list[CrisisMatch]:
        return [m for m in self.matches if m.reason == "risk factor"]

    @property
    def considered(self) -> list[CrisisMatch]:
        return [m for m in self.matches if m.negated and m.reason != "risk factor"]

    @property
    def flagged(self) -> bool:
        return bool(self.active)

    @property
    def categories(self) -> list[str]:
        return sorted({m.category for m in self.active})


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


def _fuzzy_keywords(lowered: str) -> list[tuple[str, int, int]]:
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


def _negated(text: str, start: int, end: int, phrase: str) -> bool:
    if _SELF_NEGATING.match(phrase):
        return False
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


def _clinical_si(text: str, norm: str, s: int, e: int, ns: int, ne: int) -> bool:
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
_IDIOM_AFTER = re.compile(r"^\s+on\s+(?:chocolate|sugar|caffeine|coffee|candy|sweets|cake|netflix|tv|pizza|cookies|carbs|"
                          r"junk\s+food|cuteness|sunshine|memes|anime|love|vitamin\s+\w+)\b")


def _media_context(norm: str, start: int, end: int) -> bool:
    ls, _ = _sentence_bounds(norm, start, end)
    before = norm[ls:start]
    media = list(_MEDIA_BEFORE.finditer(before))
    return bool(media) and not _SPEECH.search(before, media[-1].end())


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    rights = [i for i in (text.find(c, end) for c in ".!?\n") if i != -1]
    return left, (min(rights) if rights else len(text))


def detect_crisis(text: str) -> CrisisResult:
    """Find crisis language in ``text`` with the rules; negated, contrast and risk-factor matches are kept, marked."""
    if not text or not isinstance(text, str):
        return CrisisResult()
    norm, where = normalise(text)
    if not norm:
        return CrisisResult()

    def orig(start: int, end: int) -> tuple[int, int]:
        return where[start], where[end - 1] + 1

    found: dict[tuple[int, int], CrisisMatch] = {}
    taken: list[tuple[int, int]] = []
    # Someone else's completed suicide first: it claims its span before the ideation patterns see it.
    for m in _OTHER_SUICIDE.finditer(norm):
        if _NOT_COMPLETED.search(norm[max(0, m.start() - 40):m.start()]):
            continue
        s, e = orig(m.start(), m.end())
        found[(s, e)] = CrisisMatch(OTHER_SUICIDE, text[s:e], s, e, True, "risk factor")
        taken.append((m.start(), m.end()))
    spans = [(cat, m.start(), m.end()) for cat, pattern in _COMPILED for m in pattern.finditer(norm)]
    spans += _fuzzy_keywords(norm)
    spans.sort(key=lambda sp: (sp[1], -(sp[2] - sp[1])))
    for category, start, end in spans:
        if any(s <= start < e or s < end <= e for s, e in taken):
            continue
        if norm[start:end] in ("si", "s/i") and not _clinical_si(text, norm, *orig(start, end), start, end):
            continue  # "si" is also Spanish/Italian/French for "if"/"yes"
        taken.append((start, end))
        phrase = norm[start:end]
        negated = _negated(norm, start, end, phrase)
        reason = "negated" if negated else ""
        if not negated and re.fullmatch(r"suicid\w*", phrase):
            ls, le = _sentence_bounds(norm, start, end)
            if _CONTRAST_CONTEXT.search(norm, ls, le):
                negated, reason = True, "contrast"
        if not negated and (_media_context(norm, start, end) or _IDIOM_AFTER.match(norm[end:end + 30])):
            negated, reason = True, "contrast"
        s, e = orig(start, end)
        found[(s, e)] = CrisisMatch(category, text[s:e], s, e, negated, reason)
    return CrisisResult(sorted(found.values(), key=lambda c: c.start))


CRISIS_RESOURCES = [
    "If there is immediate danger, call local emergency services (112 in the EU, 911 in the US, 999 in the UK).",
    "US: 988 Suicide & Crisis Lifeline (call or text 988). UK & Ireland: Samaritans 116 123.",
    "Follow your service's suicide-risk protocol: assess risk directly, review the safety plan, "
    "and document the assessment.",
]
