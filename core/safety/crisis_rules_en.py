"""English crisis phrase rules (with online slang and euphemisms), on normalised text.

Organised by C-SSRS category: wish to be dead and passive/active ideation,
method, intent and plan, preparatory acts, past attempts and non-suicidal
self-injury, each in first and third person and in present and past tense.
"""

from __future__ import annotations

from core.safety.crisis_categories import ATTEMPT, IDEATION, PLAN, PREPARATORY, SELF_HARM

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

# An injury told as an accident: "burned my arm on the oven", "cut my leg on a rock while hiking".
ACCIDENT = (r"(?![^.!?\n]{0,30}\b(?:on\s+(?:the|a)\s+(?:oven|stove|iron|kettle|pan|grill|hob|radiator|exhaust|"
            r"rock|glass|fence|nail|barbed\s+wire|bike|tin|can)|while\s+(?:cooking|ironing|baking|shaving|hiking|"
            r"gardening|climbing)|by\s+accident|accidentally|chopping|cooking|in\s+the\s+(?:kitchen|garden|crash|"
            r"accident|fall))\b)")

# (category, pattern) on normalised text.
PATTERNS_EN: list[tuple[str, str]] = [
    # --- ideation: wish to be dead, passive and active
    (IDEATION, r"\bsuicid(?:e|al|ality|ally|es)\b(?!\s+(?:note|letter))"),
    (IDEATION, rf"\b(?:{_KILL}|kil+ed|end|ends|ending|take|takes|taking)\s+(?:{_POSS})\s*(?:own\s+)?"
               r"(?:self|life|lfe|lyfe|lief|liife)\b"
               + _NOT_IDIOM),
    (IDEATION, rf"\b(?:{_KILL}|unaliv\w*|off|offing|offed|end|ending|delete|deleting|do|doing|top|topping|"
               rf"neck|necking|yeet|yeeting|hurl|throw|throwing|drown|drowning|shoot|shooting|poison|poisoning|"
               rf"gas|gassing|suffocate|rope|roping)\s+(?:{_REFL})\b(?:\s+in\b)?" + _NOT_IDIOM),
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
    (IDEATION, r"\b(?:would|'d)\s+(?:rather|prefer\s+to)\s+(?:be\s+dead|die|not\s+be\s+alive)\b(?!\s+than\s+(?:work|eat|"
               r"wear|watch|listen|sit|vote|pay|admit|apologi[sz]e|ask|use|drink|date|marry|call|be\s+seen|spend|"
               r"live\s+in|move|sing|dance|play|read|cook|clean|text|talk|drive)\b)"),
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
    (IDEATION, r"\b(?:tired|sick|exhausted)\s+of\s+(?:living|being\s+alive|life|existing)\b(?!\s+(?:with|in|at|"
               r"under|near|next|on|off|out\s+of|from|paycheck|alone\s+in))"),
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
                  r"(?:my|his|her|their)\s+\w+)(?![^.!?\n]{0,30}\b(?:at\s+the|before\s+(?:leaving|boarding|the\s+flight|"
                  r"we|i|he|she)|and\s+(?:left|got|went|headed|drove|boarded|walked)))|\bput\w*\s+(?:my|his|her|their)\s+affairs\s+in\s+order\b|"
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
                r"\s*(?:arms?|wrists?|legs?|thighs?|skin|stomach|hips?|forearms?)\b" + ACCIDENT),
    (SELF_HARM, r"\b(?:fresh|new|deep|old|self[-\s]?inflicted)\s+(?:cuts|scars|burns|wounds)\b(?!\s+from\s+"
                r"(?:surgery|the\s+operation|cooking|the\s+accident))"),
    (SELF_HARM, r"\b(?:relaps\w*|urges?|clean\s+from|days?\s+clean)\s+(?:on\s+|with\s+|to\s+|from\s+)?(?:sh|s/h|"
                r"cutting|cut)\b|\bsh\s+(?:scars|urges|again|relapse)\b|\bsh'd\b"),
    (SELF_HARM, r"\b(?:razor|blade|lighter|cigarette|compass)\b[^.!?\n]{0,30}\b(?:on|to|into|against)\s+"
                r"(?:my|his|her|their)\s+(?:arms?|wrists?|skin|thighs?|legs?)\b"),
]
