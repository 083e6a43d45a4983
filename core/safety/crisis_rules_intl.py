"""Crisis phrase rules in Spanish, French, German, Portuguese and Italian, on normalised text (accents removed)."""

from __future__ import annotations

from core.safety.crisis_categories import ATTEMPT, IDEATION, PLAN, SELF_HARM

PATTERNS_INTL: list[tuple[str, str]] = [
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
