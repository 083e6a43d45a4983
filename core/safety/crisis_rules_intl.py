"""Crisis phrase rules in Spanish, French, German, Portuguese and Italian, on normalised text (accents removed)."""

from __future__ import annotations

from core.safety.crisis_categories import ATTEMPT, IDEATION, PLAN, PREPARATORY, SELF_HARM

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
    (PLAN, r"\bme\s+pendre\b|\bsauter\s+(?:du|d'un|d'une|de\s+la|par\s+la|sous\s+(?:un|le))\s+(?:haut\s+(?:du|d'un)\s+)?(?:pont|toit|balcon|fenetre|immeuble|falaise|train|metro|viaduc|tour)|\blettre\s+d'adieu\b|"
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
    # --- verb families across persons (me / se / si / mich / sich), tenses and the five languages
    # Spanish: "se quiere matar", "quiere morirse", "pensando en suicidarse", "me he cortado", "mejor estaria muerto"
    (IDEATION, r"\b(?:se|me|te)\s+(?:quiere|quiero|quieres|queria|va|voy|iba|piensa|pienso|intenta)\s+(?:a\s+)?"
               r"(?:matar|suicidar|morir)\b|\b(?:quiere|queria|quisiera|quisiera|desea|deseaba)\s+(?:morir(?:se|me)?|"
               r"matarse|matarme|suicidarse|suicidarme|estar\s+muert[oa]|desaparecer\s+para\s+siempre)\b|"
               r"\b(?:quitarse|quitarme|quitarte)\s+la\s+vida\b|\bacabar\s+con\s+(?:mi|su|tu)\s+vida\b|"
               r"\b(?:estaria|estarian|estarias|seria)\s+mejor\s+muert[oa]s?\b|\bmejor\s+(?:estaria|estar)\s+muert[oa]\b|"
               r"\bno\s+(?:quiero|quiere)\s+(?:seguir\s+)?(?:viviendo|vivir|existir)\b|\bno\s+despertar(?:me)?\s+(?:nunca|mas)\b|"
               r"\bideacion\s+suicida\b|\bpensamientos\s+(?:suicidas|de\s+muerte)\b|\bdejar\s+de\s+existir\b"),
    (SELF_HARM, r"\b(?:me|se|te)\s+(?:he|ha|has|han)?\s*(?:cortado|cortando|corta|corte|quemado|quema|lastimado|lastima)\b|"
                r"\b(?:cortarse|lastimarse|hacerse\s+dano|autolesionarse)\b"),
    (PLAN, r"\b(?:tirarse|tirarme|lanzarme|lanzarse|aventarme)\s+(?:del?|al|a\s+las?|desde)\s+(?:\w+\s+)?(?:puente|edificio|"
           r"tren|metro|vias|balcon|azotea|techo|ventana)\b|\b(?:ahorcarse|ahorcarme)\b|\bsobredosis\b|"
           r"\btomar(?:me|se)?\s+todas\s+(?:las|mis|sus)\s+(?:pastillas|pildoras)\b"),
    (PREPARATORY, r"\bcartas?\s+de\s+despedida\b|\b(?:guardando|juntando|acumulando)\s+(?:\w+\s+)?(?:pastillas|pildoras)\b"),
    (ATTEMPT, r"\b(?:intent[oe]|intentaba|trat[oe])\s+(?:de\s+)?(?:matarse|matarme|suicidarse|suicidarme|quitarse\s+la\s+vida)\b"),
    # French: "il veut se tuer", "elle a envie de mourir", "je me suis coupee", "me jeter sous un train"
    (IDEATION, r"\b(?:veu[xt]|voulai[st]|voudrai[st]?|pense\s+a|envie\s+de|va)\s+(?:me|se|te)\s+(?:tuer|suicider|"
               r"foutre\s+en\s+l'air)\b|\b(?:veu[xt]|voudrai[st]?|voulai[st])\s+mourir\b|\benvie\s+d'en\s+finir\b|"
               r"\bne\s+(?:veux|veut)\s+plus\s+(?:vivre|exister)\b|\bne\s+plus\s+(?:me\s+)?reveiller\b|"
               r"\bdisparaitre\s+pour\s+(?:toujours|de\s+bon)\b|\bmieux\s+(?:mort|morte)\b"),
    (SELF_HARM, r"\b(?:je|il|elle)\s+(?:me|se)\s+(?:suis|est)\s+(?:coupe|coupee|scarifie|scarifiee|brule|brulee|mutile|"
                r"mutilee)\b|\bse\s+(?:scarifier|mutiler|couper|bruler|faire\s+du\s+mal)\b"),
    (PLAN, r"\b(?:me|se)\s+(?:jeter|lancer)\s+(?:sous|du|d'un|de\s+la|par\s+la)\s+(?:\w+\s+)?(?:train|metro|pont|toit|"
           r"fenetre|balcon|immeuble|voiture)\b|\bse\s+pendre\b|\bsurdose\b"),
    (ATTEMPT, r"\b(?:a|ai|avait|avais)\s+(?:essaye|tente)\s+de\s+(?:me|se)\s+(?:tuer|suicider|pendre)\b|"
              r"\btentatives?\s+de\s+suicide\b"),
    # German: "er will sich umbringen", "sie hat sich geritzt", "ich ware lieber tot", "nicht mehr aufwachen"
    (IDEATION, r"\b(?:sich|mich|dich)\s+(?:umbringen|umzubringen|toten|zu\s+toten|das\s+leben\s+nehmen)\b|"
               r"\b(?:will|mochte|moechte|wollte|wurde\s+gern[e]?)\s+(?:einfach\s+)?(?:nur\s+)?(?:sterben|tot\s+sein|"
               r"nicht\s+mehr\s+(?:leben|da\s+sein|aufwachen|existieren))\b|\b(?:ware|waere)\s+(?:lieber|besser)\s+tot\b|"
               r"\bnicht\s+mehr\s+(?:leben|existieren)\s+(?:will|mochte|wollen)\b|\bsuizidgedanken\b|\btodeswunsch\b"),
    (SELF_HARM, r"\b(?:mich|sich|dich)\s+(?:\w+\s+)?(?:geritzt|ritzen|geschnitten|verbrannt|verletzt)\b|\britz(?:e|t|en)\s+"
                r"(?:mich|sich)\b"),
    (PLAN, r"\b(?:mich|sich)\s+(?:vor\s+(?:den|einen)\s+(?:zug|lkw|bus)\s+(?:zu\s+)?werfen|(?:zu\s+)?erhangen|aufzuhangen)\b|"
           r"\b(?:von\s+(?:der|einer|dem)\s+(?:brucke|dach|hochhaus|balkon))\s+(?:zu\s+)?springen\b|"
           r"\balle\s+(?:meine\s+|seine\s+|ihre\s+)?tabletten\s+(?:zu\s+)?(?:nehmen|schlucken)\b|\buberdosis\b"),
    (PREPARATORY, r"\btabletten\s+(?:gesammelt|sammeln|gehortet|horten|gebunkert)\b"),
    (ATTEMPT, r"\bsuizidversuch\w*\b|\bselbstmordversuch\w*\b|\bversucht\s*,?\s+(?:mich|sich)\s+(?:umzubringen|zu\s+toten)\b"),
    # Portuguese: "ele quer se matar", "ela pensa em morrer", "me cortei", "melhor morto"
    (IDEATION, r"\b(?:quer|queria|quero|vai|vou|pensa\s+em|penso\s+em|pensando\s+em)\s+(?:se|me|te)\s+(?:matar|suicidar)\b|"
               r"\b(?:quer|queria|quero|queria)\s+morrer\b|\b(?:se|me)\s+matar\b|\btirar\s+(?:a\s+)?(?:sua|minha)\s+"
               r"(?:propria\s+)?vida\b|\bideacao\s+suicida\b|\bnao\s+(?:quer|quero)\s+mais\s+(?:viver|existir|acordar)\b|"
               r"\b(?:seria|estaria)\s+melhor\s+mort[oa]\b|\bnao\s+acordar\s+(?:nunca\s+)?mais\b"),
    (SELF_HARM, r"\b(?:me|se)\s+(?:cortei|cortou|corta|corto|cortando|machuquei|machucou|queimei|queimou)\b|"
                r"\b(?:cortar-me|cortar-se|se\s+cortar|se\s+machucar)\b"),
    (PLAN, r"\b(?:pular|me\s+jogar|se\s+jogar|jogar-me)\s+(?:da|do|de\s+uma|de\s+um|na\s+frente\s+do)\s+(?:ponte|predio|"
           r"janela|trem|metro|onibus|sacada)\b|\b(?:me|se)\s+enforcar\b|\boverdose\b|\btomar\s+todos\s+os\s+"
           r"(?:remedios|comprimidos)\b"),
    (ATTEMPT, r"\b(?:tentou|tentei|tentaram)\s+(?:se|me)\s+(?:matar|suicidar|enforcar)\b"),
    # Italian: "vuole uccidersi", "si e tagliata", "non svegliarmi piu", "buttarmi sotto un treno"
    (IDEATION, r"\b(?:uccidersi|ammazzarsi|suicidarsi|togliersi\s+la\s+vita|uccidermi|ammazzarmi)\b|\b(?:vuole|voleva|"
               r"vorrebbe|voglio|volevo|vorrei)\s+(?:morire|farla\s+finita|sparire\s+per\s+sempre|non\s+esistere)\b|"
               r"\bnon\s+(?:svegliarmi|svegliarsi|risvegliarmi)\s+(?:piu|mai\s+piu)\b|\b(?:sarei|sarebbe)\s+meglio\s+"
               r"mort[oa]\b|\bmeglio\s+mort[oa]\b|\bideazione\s+suicidaria\b|\bnon\s+(?:vuole|voglio)\s+(?:piu\s+)?vivere\b"),
    (SELF_HARM, r"\b(?:mi|si)\s+(?:sono|e)\s+(?:tagliat[oa]|bruciat[oa]|ferit[oa])\b|\b(?:tagliarsi|si\s+taglia|"
                r"farsi\s+del\s+male)\b"),
    (PLAN, r"\b(?:buttarmi|buttarsi|gettarmi|gettarsi|lanciarmi)\s+(?:dal|dalla|da\s+un|da\s+una|sotto\s+(?:un|il))\s+"
           r"(?:\w+\s+)?(?:ponte|treno|palazzo|tetto|balcone|finestra|metro)\b|\b(?:impiccarmi|impiccarsi)\b|"
           r"\bprendere\s+tutte\s+le\s+(?:pillole|pastiglie|compresse)\b|\boverdose\b"),
    (PREPARATORY, r"\blettera\s+d'addio\b|\b(?:conservando|accumulando|mettendo\s+da\s+parte)\s+(?:le\s+)?"
                  r"(?:pillole|pastiglie|compresse)\b"),
    (ATTEMPT, r"\b(?:ha|ho)\s+(?:tentato|provato)\s+(?:di|a)\s+(?:uccidersi|uccidermi|togliersi\s+la\s+vita|suicidarsi)\b"),
]
