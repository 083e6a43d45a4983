"""Crisis phrase families built from slots: who, which verb, which tense, which object.

The hand-written rules in ``crisis_rules_en`` name phrases; these name
*families* of phrases, so a wording nobody wrote down still matches when it
is built from the same parts: a subject (I / he / she / they / my brother),
a verb family (want, wish, hope, pray, long ...), a tense, and an object from
a C-SSRS category (wish to be dead, passive ideation, method, intent, plan,
preparatory acts, interrupted and past attempts, self-injury).

Every pattern runs on normalised text (lower case, accents and look-alikes
folded, apostrophes straight); negation, contrast and someone else's death are
judged afterwards by ``crisis_context``.
"""

from __future__ import annotations

from core.safety.crisis_categories import ATTEMPT, IDEATION, PLAN, PREPARATORY, SELF_HARM
from core.safety.crisis_rules_en import ACCIDENT

# ----------------------------------------------------------------------------- slots

_NT = r"(?:n'?t|\s+not)"                      # "don't", "dont", "do not"
_SUBJ = r"(?:i|he|she|they|we)"
_BE = r"(?:'m|'s|'re|\s+am|\s+is|\s+are|\s+was|\s+were|m|s)"
_SELF = r"(?:my|him|her|them|your)\s?sel(?:f|ves)|themself"
_POSS = r"(?:my|his|her|their|the)"
_MEANS = (r"(?:pills?|tablets?|meds|medications?|paracetamol|tylenol|painkillers|insulin|lithium|antidepressants|"
          r"sleeping\s+(?:pills|tablets)|blades?|razors?(?:\s+blades?)?|knife|knives|rope|noose|belt|cord|gun|"
          r"shotgun|rifle|pistol|firearm|bottle\s+of\s+(?:pills|tablets|vodka)|charcoal|hose|exhaust|helium)")
# Ways of dying, as a bare verb phrase ("jump off the bridge") - used after want / plan / tried / thought about.
_ACT = (r"(?:kill|killing|hang|hanging|shoot|shooting|drown|drowning|poison|poisoning|suffocat\w+|gas|gassing|"
        r"overdos\w+|od|o\.d|end|ending)\s+(?:" + _SELF + r"|it\b(?!\s+with)|it\s+all|my\s+life|(?:his|her|their)\s+life)|"
        r"(?:jump|jumping|leap|leaping|throw\w*\s+(?:" + _SELF + r"))\s+(?:off|from|out\s+of|in\s+front\s+of|under)\s+"
        r"(?:a|the|my|this|that)\s+(?:\w+\s+)?(?:bridge|building|roof|rooftop|cliff|balcony|window|ledge|train|bus|"
        r"car\s+park|tower|overpass|platform|lorry|truck|floor|block)|"
        r"(?:driv\w+|steer\w*|swerv\w+|crash\w*)\s+(?:my\s+car\s+|the\s+car\s+)?(?:into|off)\s+(?:oncoming\s+traffic|"
        r"traffic|a\s+(?:wall|tree|lorry|truck|pole|bridge|cliff|river)|the\s+(?:wall|river|sea|barrier|cliff|"
        r"central\s+reservation|oncoming\s+\w+))|"
        r"(?:walk\w*|wad\w+|swim\w*|step\w*)\s+(?:out\s+)?(?:into|in\s+front\s+of)\s+(?:the|a)\s+(?:sea|ocean|river|lake|"
        r"waves|water|traffic|train|bus|lorry|truck|road)|"
        r"(?:take|taking|took|swallow\w*|down\w*)\s+(?:all|every|the\s+whole|a\s+whole|enough|a\s+handful|a\s+bunch|"
        r"loads|as\s+many)\s+(?:of\s+)?(?:my\s+|the\s+|his\s+|her\s+|their\s+)?(?:\w+\s+)?"
        r"(?:pills|tablets|meds|medication|painkillers|bottle|packet|box)|"
        r"(?:cut\w*|slit\w*|slash\w*|slic\w+)\s+(?:my|his|her|their)\s+(?:wrists?|throat|veins?)|"
        r"(?:lie|lay|lying)\s+(?:down\s+)?on\s+the\s+(?:tracks|railway|road)")

# ----------------------------------------------------------------------------- families

PATTERNS_FAMILIES: list[tuple[str, str]] = [
    # --- wish to be dead / passive ideation: want-verb + a way of not being alive
    (IDEATION, r"\b(?:wants?|wanted|wanting|wanna|wish(?:es|ed|ing)?|hop(?:e|es|ed|ing)|pray(?:s|ed|ing)?|"
               r"long(?:s|ed|ing)?|would\s+like|'d\s+like|need(?:s|ed)?)\s+(?:to\s+)?(?:just\s+|really\s+|simply\s+|"
               r"honestly\s+|only\s+)?(?:"
               r"stop\s+(?:being\s+(?:alive|a\s+person|human|here|around|me)|living|existing|breathing)|"
               r"not\s+(?:be\s+)?(?:alive|exist|existing|be\s+here|be\s+around|wake\s+up|live)|"
               r"(?:vanish|disappear|be\s+gone|go\s+away|fade\s+away|sleep)\s+(?:forever|for\s+good|permanently|"
               r"and\s+never\s+(?:come\s+back|wake\s+up|return))|"
               r"cease\s+to\s+exist|never\s+(?:wake\s+up|have\s+been\s+born|existed|exist)|"
               r"be\s+(?:dead|done\s+with\s+(?:life|living|it\s+all))|die|out\s+of\s+(?:this\s+)?life\b)"),
    (IDEATION, rf"\b(?:wish(?:es|ed|ing)?|hop(?:e|es|ed|ing)|pray(?:s|ed|ing)?)\s+(?:that\s+)?{_SUBJ}\s+(?:would\s+|"
               r"could\s+|will\s+|'d\s+|'ll\s+)?(?:just\s+)?(?:die[sd]?|get\s+(?:sick|cancer|hit|killed)|"
               r"(?:got|get|was|were)\s+(?:hit|killed|run\s+over)|never\s+(?:wake|woke|wakes)|"
               r"do\s+n'?o?t\s+wake|don'?t\s+wake|didn'?t\s+wake|had\s+never\s+been\s+born|was\s+never\s+born|"
               r"(?:was|were)n'?t\s+(?:alive|born|here)|stop\s+(?:existing|breathing|living))"),
    # accepting an accidental death: "if a bus hit me I wouldn't mind", "I'd be relieved if the plane went down"
    (IDEATION, r"\bif\s+(?:i|a|the|some|my)\b[^.!?\n]{0,45}?\b(?:hit\s+me|hits\s+me|ran\s+me\s+over|run\s+me\s+over|"
               r"went\s+down|goes\s+down|crashed|crashes|killed\s+me|kills\s+me|got\s+(?:hit|killed|run\s+over)|"
               r"die[sd]?|dying|never\s+wok?ke\s+up|didn'?t\s+wake\s+up|don'?t\s+wake\s+up|did\s+not\s+wake\s+up)"
               r"\b[^.!?\n]{0,50}?\b(?:wouldn'?t\s+(?:even\s+)?(?:mind|care|be\s+(?:mad|upset|sad|sorry|angry))|"
               r"(?:would|'d)\s+(?:honestly\s+|actually\s+|really\s+)?be\s+(?:fine|ok(?:ay)?|relieved|glad|happy|"
               r"a\s+relief|grateful)|fine\s+(?:by|with)\s+me|(?:that'?s|that\s+would\s+be)\s+(?:fine|ok(?:ay)?|"
               r"a\s+relief|good))"),
    (IDEATION, r"\b(?:wouldn'?t\s+(?:even\s+)?mind|(?:would|'d)\s+(?:honestly\s+|actually\s+)?be\s+(?:relieved|glad|"
               r"fine|happy|grateful))\s+if\s+[^.!?\n]{0,40}?\b(?:died|die|hit\s+me|went\s+down|crashed|killed\s+me|"
               r"got\s+(?:hit|killed)|never\s+woke\s+up|didn'?t\s+wake\s+up|didn'?t\s+make\s+it)\b"),
    (IDEATION, r"\b(?:wish\w*|hop(?:e|es|ed|ing)|pray\w*)\s+(?:that\s+)?(?:a|the|some)\s+(?:car|bus|truck|lorry|train|"
               r"plane|tram|van)\s+(?:would\s+|will\s+)?(?:hits?|kills?|runs?\s+(?:me|him|her)\s+over|run\s+over|crash\w*|"
               r"goes\s+down|go\s+down)"),
    (IDEATION, r"\b(?:disappointed|upset|angry|annoyed|sad|gutted|frustrated|sorry)\s+(?:that\s+|to\s+(?:find|see)\s+"
               r"(?:that\s+)?)?(?:i|he|she)(?:'m|'s|\s+am|\s+is|\s+was)?\s+(?:still\s+)?(?:here|alive|breathing)\b|"
               r"\bwak(?:e|es|ing|ed)\s+up\s+(?:disappointed|upset|angry|sad|annoyed|gutted)\b"),
    (IDEATION, rf"\b(?:can'?t|cannot|can\s+not|do{_NT}|does{_NT})\s+see\s+(?:my|him|her|them)sel(?:f|ves)\s+(?:"
               r"making\s+it\s+(?:to|past|until|through)\b|(?:being|staying|still\s+being)\s+alive|surviving\b|"
               r"being\s+around\s+(?:for|much|in|by|next)|living\s+(?:past|to|until|much\s+longer|another))"),
    (IDEATION, rf"\b(?:do{_NT}|does{_NT})\s+think\s+{_SUBJ}\s*(?:'ll|will|'d|would)\s+(?:still\s+)?be\s+"
               r"(?:around|alive|here\s+(?:much\s+longer|anymore|to\s+see))\b"),
    (IDEATION, r"\b(?:won'?t|will\s+not|not\s+going\s+to)\s+be\s+(?:around|here|alive)\s+(?:to\s+(?:see|look\s+"
               r"after|take\s+care|walk|feed|watch|need)|much\s+longer|for\s+much\s+longer|anymore|any\s+more|"
               r"soon)\b"),
    (IDEATION, r"\bwhat'?s\s+the\s+(?:point|use)\s+(?:in|of)\s+(?:going\s+on|carrying\s+on|living|being\s+alive|"
               r"staying\s+alive|continuing|existing|life|keeping\s+going|waking\s+up)\b|"
               r"\bwhy\s+(?:stay|go\s+on|keep\s+going|keep\s+living|bother\s+living|am\s+i\s+still\s+(?:here|alive)|"
               r"should\s+i\s+(?:stay|keep\s+living|live|go\s+on|stay\s+alive))\b"),
    (IDEATION, r"\b(?:don'?t|do\s+not|can'?t|cannot)\s+see\s+(?:any|another)\s+(?:other\s+)?way\s+out\b[^.!?\n]{0,25}?"
               r"\b(?:dying|death|die|suicide|end(?:ing)?\s+it|killing\s+myself)\b"),
    (IDEATION, r"\b(?:no|only|one|any|another)\s+(?:other\s+)?way\s+out\b[^.!?\n]{0,25}?\b(?:dying|death|die|suicide|end(?:ing)?\s+it|"
               r"killing\s+myself)\b|\b(?:death|dying|suicide)\s+(?:is|seems|feels\s+like|would\s+be)\s+(?:the\s+)?"
               r"(?:only|best|last|easiest)\s+(?:way|option|answer|escape|choice|solution)\b"),
    (IDEATION, r"\b(?:death|dying|being\s+dead|not\s+existing|not\s+being\s+here|the\s+idea\s+of\s+(?:dying|death))\s+"
               r"(?:seems|sounds|feels|looks|would\s+(?:be|feel)|is)\s+(?:so\s+|really\s+|more\s+|like\s+)?(?:a\s+)?"
               r"(?:peaceful|calm|a\s+relief|relief|rest|restful|freedom|an\s+escape|a\s+release|release|"
               r"comforting|better|easier|welcome|appealing|inviting|tempting|nice)\b"),
    (IDEATION, r"\b(?:fantasi[sz]\w*|daydream\w*|dream\w*)\s+about\s+(?:my|his|her)\s+own\s+(?:death|funeral|"
               r"suicide)\b|\b(?:fantasi[sz]\w*|daydream\w*)\s+about\s+(?:dying|being\s+dead|not\s+existing|"
               rf"not\s+waking\s+up|{_ACT})"),
    (IDEATION, r"\b(?:only|still)\s+(?:alive|here|around)\s+(?:because\s+of|for)\s+(?:my|his|her|the)\s+\w+|"
               r"\bthe\s+only\s+(?:reason|thing)\s+(?:i'?m|he'?s|she'?s|keeping\s+me)\s+(?:still\s+)?(?:alive|here)\b"),
    (IDEATION, r"\b(?:tired|sick|exhausted|weary)\s+of\s+(?:being\s+alive|existing|living|waking\s+up|"
               r"being\s+here|breathing)\b(?!\s+(?:with|in|at|under|near|next|on|off|out\s+of|from|paycheck))|\bbetter\s+off\s+without\s+me\b|\bbetter\s+(?:place|world)\s+without\s+me\b|"
               r"\b(?:easier|happier|lighter)\s+(?:for\s+(?:everyone|everybody|them|my\s+\w+)\s+)?(?:if|when)\s+"
               r"(?:i|he|she)\s*(?:'m|was|were|am|is|'s)\s+(?:gone|dead|not\s+here|not\s+around)\b"),
    (IDEATION, r"\b(?:just|finally|gonna|going\s+to|wanna|want\s+to|might|to)\s+end\s+it\s+(?:all\b|tonight|now\b|"
               r"today|for\s+good|soon|already|lol|tbh|honestly|this\s+(?:week|weekend|time))(?![^.!?\n]{0,25}\bthan\b)|"
               r"\bjust\s+end\s+it\b(?!\s+with)(?![^.!?\n]{0,25}\bthan\b)"),
    # --- method, intent and plan
    (PLAN, rf"\b(?:thought|think|thinking|thinks|considered|considering|tempted|urges?|fantasi[sz]\w*|imagin\w*|"
           rf"pictur\w*|plan\w*|decided|going|gonna|intend\w*|ready)\s+(?:about\s+|of\s+|to\s+)?"
           rf"(?:just\s+|how\s+to\s+|finally\s+)?(?:{_ACT})"),
    (PLAN, rf"\bif\s+(?:i|he|she|they)\s+(?:had|could\s+get|got|get)\s+(?:access\s+to\s+|hold\s+of\s+|my\s+hands\s+on\s+|"
           rf"a\s+|the\s+|some\s+|enough\s+)*(?:\w+\s+)?{_MEANS}\b[^.!?\n]{{0,40}}?\b(?:i'?d|i\s+would|he'?d|she'?d|would|"
           r"use|do\s+it|done\s+it|end\s+it)"),
    (PLAN, rf"\b(?:look\w*|star\w*|stood|stand\w*|sat|sit\w*|gaz\w*)\s+(?:at|on|over|by|near|down\s+at|on\s+the\s+edge\s+of)\s+"
           r"(?:the|a|my|that|this)\s+(?:\w+\s+){0,3}(?:tracks|railway|bridge|ledge|edge|roof|cliff|balcony|platform|"
           rf"water|river|{_MEANS})\b[^.!?\n]{{0,70}}?\b(?:how\s+(?:easy|quick|simple|painless|fast)|wonder\w*|"
           r"thinking\s+(?:about|of)\s+(?:it|jumping|doing|ending)|tempt\w*|could\s+just|jump\w*|end\s+it|"
           r"looking\s+down|a\s+lot\s+lately|for\s+(?:hours|ages|a\s+long\s+time)|every\s+night)"),
    (PLAN, r"\bhow\s+(?:easy|quick|simple|painless)\s+it\s+would\s+be\s+to\s+(?:just\s+)?(?:jump|step|die|end|let\s+go|"
           r"drive|swerve|walk|take|hang|fall)\b"),
    (PLAN, r"\b(?:going\s+to|gonna|will|'ll)\s+(?:finally\s+)?(?:do\s+it|go\s+through\s+with\s+it)\b[^.!?\n]{0,40}?"
           r"\b(?:this\s+time|for\s+real|(?:nobody|no\s+one|no-one)\s+(?:can|will|could)\s+stop|i'?ve\s+decided|tonight|"
           r"when\s+(?:everyone|they)'?(?:s|re)?\s+(?:asleep|gone|out))|\bgo(?:ing)?\s+through\s+with\s+it\b"),
    (PLAN, r"\b(?:last|final)\s+time\s+(?:you|anyone|anybody|they)(?:'ll|\s+will)\s+(?:ever\s+)?(?:hear\s+from|see)\s+"
           r"(?:me|him|her)\b|\bthis\s+is\s+(?:my\s+)?goodbye\b|\bby\s+\w+\s+(?:it|everything)(?:'ll|\s+will|\s+would)\s+"
           r"(?:all\s+)?be\s+over\b|\b(?:it|everything)(?:'ll|\s+will|\s+would)\s+all\s+be\s+over\s+(?:soon|tonight|"
           r"tomorrow|by)\b|\bwon'?t\s+have\s+to\s+(?:deal|worry|put\s+up)\s+with\s+me\s+(?:much\s+longer|anymore|soon)\b"),
    (PLAN, r"\b(?:picked|chose|chosen|found|decided\s+on|worked\s+out|sorted\s+out|figured\s+out|scouted)\s+(?:out\s+)?"
           r"(?:the|a|my)\s+(?:spot|place|location|bridge|method|way|building|tree)\b[^.!?\n]{0,40}?\b(?:and|,)\s+"
           r"(?:the\s+|a\s+)?(?:date|day|time|night|when)\b|\b(?:got|have|has)\s+it\s+all\s+(?:worked|planned|figured|"
           rf"sorted)\s+out\b[^.!?\n]{{0,40}}?\b(?:{_MEANS}|date|when|where)\b|\bworked\s+out\s+(?:when|how|where)\s+"
           r"(?:and|i'?d|i\s+would|he'?d|she'?d)"),
    # --- preparatory acts
    (PREPARATORY, r"\b(?:after|when|once|for\s+when|for\s+after|by\s+the\s+time)\s+(?:i'?m|i\s+am|i'?ve|he'?s|she'?s|"
                  r"he\s+is|she\s+is|i\s+have|i'?ve\s+been)\s+(?:gone|dead|not\s+here|not\s+around|no\s+longer\s+here)\b"
                  r"(?!\s+(?:on|for\s+the|to|away|out|shopping|abroad|travelling|traveling|at|from|a\s+few))"),
    (PREPARATORY, r"\b(?:letters?|notes?|messages?|videos?|recordings?|emails?|cards?)\s+(?:to|for)\s+(?:my|his|her|their|"
                  r"each|every|all|everyone|everybody|the)\b[^.!?\n]{0,40}?\b(?:explaining\s+(?:everything|why)|"
                  r"saying\s+goodbye|goodbye|to\s+(?:read|open|watch)\s+(?:after|when|once)|in\s+case\s+(?:i|something))"),
    (PREPARATORY, r"\b(?:gave|give|gives|giving|given|handed|handing|sold|selling|rehom\w*|cancell?\w*|quit|gave\s+notice|"
                  r"found\s+(?:a\s+)?(?:new\s+)?homes?\s+for)\b[^.!?\n]{0,80}?\b(?:won'?t|will\s+not|wouldn'?t|"
                  r"will\s+no\s+longer)\s+(?:be\s+)?(?:need|needing|using|use|be\s+(?:around|here)|be\s+able\s+to)\b"),
    (PREPARATORY, r"\bwon'?t\s+be\s+needing\s+(?:them|it|any\s+of|anything|these|those|my|his|her)\b|"
                  r"\b(?:put|putting|got|getting|sorted|sorting|have|has|had)\s+(?:all\s+)?(?:my|his|her|their)\s+affairs\s+"
                  r"(?:in\s+order|sorted|straight)|\b(?:my|his|her)\s+affairs\s+(?:are|were)\s+(?:all\s+)?(?:sorted|in\s+order)"),
    (PREPARATORY, rf"\b(?:hid|hide|hides|hiding|hidden|stash\w*|squirrel\w*|tucked\s+away|secretly\s+(?:kept|keeping|"
                  rf"bought|buying|saved|saving))\b[^.!?\n]{{0,30}}?\b{_MEANS}\b|\b{_MEANS}\s+(?:\w+\s+){{0,2}}"
                  r"(?:hidden|stashed|tucked\s+away)\b"),
    (PREPARATORY, rf"\b(?:putting|put|setting|set|keeping|kept|holding|held)\s+(?:aside|back|away)\s+(?:a\s+few\s+|some\s+|"
                  rf"one\s+|two\s+|all\s+)?(?:of\s+)?(?:my\s+|his\s+|her\s+|their\s+|the\s+)?(?:\w+\s+)?{_MEANS}|"
                  rf"\b(?:count\w*)\s+(?:up\s+)?(?:how\s+many\s+)?(?:of\s+)?(?:my|the|his|her|their)\s+(?:\w+\s+)?"
                  r"(?:pills|tablets|meds|painkillers)\b"),
    (PREPARATORY, r"\b(?:search\w*|googl\w*|look\w*\s+up|research\w*|read\w*\s+up)\s+(?:history\s+)?(?:on|for|about)?\s*"
                  r"(?:how\s+(?:long|much|many)\s+it\s+takes\s+to\s+die|(?:lethal|fatal|deadly|toxic)\s+(?:doses?|amounts?|"
                  r"levels?)|ways\s+to\s+(?:die|kill)|how\s+to\s+(?:die|kill\s+(?:my|him|her|them)sel|hang|tie\s+a\s+noose|"
                  r"overdose|end\s+it))|\b(?:lethal|fatal|deadly)\s+(?:doses|amounts)\b"),
    (PREPARATORY, r"\b(?:roof|rooftop|bridge|balcony|ledge|cliff|top\s+floor|multi-?stor(?:e)?y|car\s+park|tower)\b"
                  r"[^.!?\n]{0,60}?\b(?:was\s+unlocked|is\s+unlocked|(?:was|is)\s+(?:left\s+)?open|how\s+high|"
                  r"how\s+far\s+down|the\s+drop|high\s+enough|far\s+enough\s+down)\b|\b(?:checked|check|checking|see|"
                  r"measured|worked\s+out)\s+how\s+(?:high|tall|far\s+down)\s+(?:the|a|that)\s+(?:bridge|roof|building|"
                  r"balcony|cliff|drop)\b"),
    (PREPARATORY, r"\b(?:said|saying|say|says)\s+(?:my|his|her|their)\s+goodbyes\b(?![^.!?\n]{0,30}\b(?:at\s+the|"
                  r"before\s+(?:leaving|boarding|the\s+flight|we|i|he|she)|and\s+(?:left|got|went|headed|drove)))"),
    # --- interrupted and past attempts
    (ATTEMPT, r"\b(?:got|made\s+it)\s+as\s+far\s+as\s+(?:the\s+)?(?:ledge|edge|bridge|roof|tracks|platform|railing|"
              r"tying|writing|taking|swallowing|standing|putting)\b|\b(?:pulled|dragged|talked|coaxed)\s+(?:me|him|her|them)"
              r"\s+(?:back|down)\s+(?:from|off)\s+(?:the|a)\s+(?:ledge|edge|bridge|roof|tracks|railing|balcony|cliff)\b"),
    (ATTEMPT, r"\b(?:started|began|was|were)\s+(?:swallowing|downing|taking)\s+(?:the|my|his|her|all\s+(?:the|my))\s+"
              r"(?:\w+\s+)?(?:pills|tablets|meds|painkillers)\b[^.!?\n]{0,40}?\b(?:panicked|stopped|threw\s+up|called|"
              r"was\s+found|passed\s+out)\b"),
    (ATTEMPT, r"\b(?:ended\s+up|woke\s+up|wake\s+up|was|were|landed)\s+in\s+(?:the\s+)?(?:icu|intensive\s+care|a&e|er|"
              r"emergency|resus|hospital)\s+after\s+(?:what\s+(?:i|he|she)\s+did|(?:i|he|she)\s+(?:took|swallowed|"
              r"overdosed|tried|cut)|(?:taking|swallowing)\s+(?:the|all|my|his|her)|(?:my|his|her)\s+attempt)"),
    (ATTEMPT, rf"\b(?:didn'?t|did\s+not|never)\s+want(?:ed)?\s+to\s+(?:survive|wake\s+up|be\s+found|be\s+saved)\b|"
              r"\b(?:wish|wished|wishes)\s+(?:it\s+had\s+worked|(?:i|he|she)\s+(?:had|hadn'?t)\s+(?:not\s+)?"
              r"(?:survived|been\s+found|been\s+saved|woken\s+up))|\b(?:should|was\s+supposed\s+to)\s+have\s+died\b|"
              rf"\b(?:tried|attempted|tries|trying)\s+to\s+(?:{_ACT})"),
    # --- non-suicidal self-injury
    (SELF_HARM, r"\b(?:cut\w*|slic\w+|slash\w*|carv\w*|scratch\w*|gouge\w*|stab\w*|scor(?:e|ed|ing))\s+(?:into\s+|at\s+)?"
                r"(?:my|his|her|their)\s+(?:left\s+|right\s+|upper\s+|inner\s+|own\s+)?(?:arms?|wrists?|legs?|thighs?|"
                r"skin|stomach|hips?|forearms?|ankles?|chest|belly|calves)\b" + ACCIDENT),
    (SELF_HARM, r"\b(?:burn\w*)\s+(?:my|his|her|their)\s+(?:arms?|wrists?|legs?|thighs?|skin|stomach|forearms?)\s+"
                r"(?:with|on\s+purpose|deliberately)\b(?!\s+(?:the\s+)?(?:oven|iron|kettle|stove|pan|hot\s+water))"),
    (SELF_HARM, r"\b(?:hit\w*|bang\w*|slam\w*|smash\w*|punch\w*)\s+(?:my|his|her|their)\s+(?:head|fists?)\s+(?:against|into|"
                r"on)\s+(?:the\s+|a\s+)?(?:wall|floor|door|desk|table|mirror)\b|\b(?:scratch\w*|pick\w*|pinch\w*|bit(?:e|es|ing)?|"
                rf"hit\w*|punch\w*|claw\w*)\s+(?:at\s+)?(?:my|his|her|their|{_SELF})\b[^.!?\n]{{0,25}}?\buntil\s+(?:it|they|i|he|she)\s+"
                r"(?:bleed\w*|bled|bruise\w*|break\w*|scar\w*)\b"),
    (SELF_HARM, r"\b(?:linear|superficial|parallel|healing|fresh|multiple|self-?inflicted|horizontal)\s+(?:\w+\s+)?"
                r"(?:wounds?|cuts?|lacerations?|scars?|marks?|abrasions?|burns?|scratches)\b[^.!?\n]{0,30}?\b(?:on|to|"
                r"across|over|of)\s+(?:the\s+|his\s+|her\s+|my\s+|their\s+|both\s+)?(?:left\s+|right\s+|upper\s+|inner\s+|"
                r"both\s+)?(?:wrists?|forearms?|arms?|thighs?|legs?|stomach|abdomen|hips?)\b|\b(?:old\s+and\s+new|new\s+and\s+"
                r"old)\s+(?:cuts|scars|burns|wounds)\b"),
    (SELF_HARM, r"\b(?:calm\w*|help\w*|reliev\w*|sooth\w*|numb\w*|cope|coping|comfort\w*)\b[^.!?\n]{0,40}?\b(?:the|a|my)\s+"
                r"(?:blade|razor(?:\s+blade)?)\b|\b(?:the|a|my)\s+(?:blade|razor)\b[^.!?\n]{0,30}?\b(?:calms?|helps?|"
                r"relieves?|soothes?|numbs?)\b|\b(?:hx|history|h/o)\s+of\s+(?:cutting|burning|self-?cutting|overdoses?|"
                r"ods?)\b"),
]
