"""Seeded generator of synthetic counselling-session texts with the Mental-Health-LongParas schema.

Columns: text, sentiment_intensity, family_history, trauma_indicators,
social_isolation_score, support_system_strength.

Every text is invented here; nobody's record is in it. Half are clinician
session notes (third person, "Client reports ..."), half are first-person client
writing (messages, intake forms, forum-style posts), so heads trained on it see
both registers the dashboard meets.

How labels follow from what was written (the label is a fact about the text):
- trauma_indicators (0..7): the number of distinct trauma indicator kinds the
  text states: a traumatic event, intrusive memories, nightmares, flashbacks,
  hypervigilance/startle, avoidance of reminders, numbing/dissociation. A text
  may also deny trauma ("denies trauma history"), which counts 0.
- social_isolation_score (0..4): the level of the isolation sentence(s)
  written, from "sees friends every week" (0) to "has not spoken to anyone in
  weeks" (4).
- support_system_strength (0..4): the level of the support sentence(s), from
  "no one to turn to" (0) to "strong network of family and friends" (4).
- family_history (0/1): 1 when a relative's mental illness, suicide or
  substance use disorder is stated; 0 when it is denied or not mentioned.
- sentiment_intensity (-1..1): the weighted mean valence of the sentences
  written (mood sentences weigh double, neutral filler counts 0), plus small
  noise, clipped; so a text full of hopeless statements is near -1.
"""

from __future__ import annotations

import random

import pandas as pd

COLUMNS = ["text", "sentiment_intensity", "family_history", "trauma_indicators",
           "social_isolation_score", "support_system_strength"]

REL = ["mother", "father", "older sister", "younger brother", "grandmother", "uncle", "aunt", "cousin", "stepfather"]
REL_C = ["mom", "dad", "sister", "brother", "grandma", "uncle", "aunt", "cousin", "stepdad", "mum"]
ILLNESS = ["depression", "bipolar disorder", "schizophrenia", "alcohol use disorder", "an anxiety disorder",
           "a substance use problem", "PTSD", "postpartum depression", "OCD"]
TIME = ["for months", "for the past few weeks", "since last spring", "for about a year", "since the winter",
        "for a long time now", "since the move", "lately"]
EVENT_C = ["I was sexually abused as a kid", "my stepdad used to beat me", "I was raped in college",
           "I was in a really bad car accident last year", "my ex was physically abusive for three years",
           "I saw my best friend die in front of me", "I was deployed twice and lost people over there",
           "I was assaulted walking home from work", "I grew up in a house where my dad hit my mom every night",
           "someone broke into our home while we were there", "I was bullied and beaten up at school for years",
           "I was molested by a family friend when I was young",
           "my ex used to choke me and threaten to kill me if I left",
           "I was held at gunpoint during a robbery at the store where I work",
           "I was emotionally and physically abused by my parents growing up",
           "a man I trusted raped me two years ago and I never told anyone",
           "I found my brother after he overdosed"]
EVENT_N = ["history of childhood sexual abuse", "a serious motor vehicle accident last year",
           "physical abuse by a former partner", "a sexual assault in college", "combat exposure during two deployments",
           "witnessing domestic violence throughout childhood", "an assault on the way home from work",
           "the sudden violent death of a close friend", "a home invasion", "years of physical abuse by a stepparent"]

# (clinician note, first-person) pairs per trauma indicator kind, event handled separately.
TRAUMA = {
    "intrusive": (["Reports intrusive memories of {ev} that come without warning.",
                   "{S} describes unwanted, intrusive thoughts about the event several times a day.",
                   "Endorses intrusive recollections, worse when alone at night."],
                  ["I can't stop thinking about it, it just pops into my head out of nowhere.",
                   "The memories keep coming back no matter what I do.",
                   "Even at work I get these images of what happened and I can't push them away."]),
    "nightmares": (["Sleep disrupted by recurrent trauma-related nightmares, 3-4 nights per week.",
                    "{S} reports nightmares about the event and wakes drenched in sweat.",
                    "Endorses frequent nightmares; avoids sleep as a result."],
                   ["I have nightmares about it almost every night and wake up screaming.",
                    "I'm scared to go to sleep because of the dreams.",
                    "The nightmares are back, I wake up shaking and can't get back to sleep."]),
    "flashbacks": (["Describes flashbacks in which {N} feels the event is happening again.",
                    "Reports flashbacks triggered by smells and loud voices.",
                    "{S} had a flashback in session when the topic came up and needed grounding."],
                   ["Sometimes I have flashbacks and it's like I'm back there again.",
                    "A smell or a voice can throw me right back into it, like it's happening all over.",
                    "I had a flashback at the grocery store and had to leave my cart and run out."]),
    "hypervigilance": (["Presents as hypervigilant; sat facing the door and startled at hallway noise.",
                        "Reports exaggerated startle response and constantly scanning for danger.",
                        "{S} describes feeling on guard at all times, checking locks repeatedly."],
                       ["I jump at every little noise and I'm always watching the door.",
                        "I never feel safe, I'm constantly on edge and checking the locks.",
                        "If someone comes up behind me I freak out."]),
    "avoidance": (["Avoids places, people and conversations that remind {O} of the event.",
                   "{S} has stopped driving since the accident and avoids the route entirely.",
                   "Marked avoidance of reminders; changed jobs to avoid the area."],
                  ["I avoid anything that reminds me of it, I won't even go near that part of town.",
                   "I can't talk about it, I change the subject whenever it comes up.",
                   "I stopped watching TV because anything could remind me of what happened."]),
    "numbing": (["Reports emotional numbing and episodes of dissociation, 'like watching myself from outside'.",
                 "{S} describes feeling detached and numb, losing time during stressful moments.",
                 "Endorses dissociative episodes; affect notably flat when describing the event."],
                ["I feel numb most of the time, like nothing is real.",
                 "Sometimes I zone out and lose chunks of time, it's like I leave my body.",
                 "I don't feel anything anymore, I'm just going through the motions."]),
}
TRAUMA_NONE = (["Denies any history of trauma or abuse.", "No trauma history reported.",
                "Screened for trauma; none endorsed."],
               ["Nothing really bad has ever happened to me, I just feel stuck.",
                "I've never been through anything traumatic or anything like that."])

ISOLATION = {
    0: (["{S} sees friends several times a week and enjoys a weekly football game with coworkers.",
         "Socially active; spends weekends with a close group of friends.",
         "Reports a busy social life, regular dinners with friends and neighbours."],
        ["I see my friends pretty much every weekend and we talk every day.",
         "I have a good group of friends and we hang out all the time.",
         "I'm pretty social, always doing something with people from work or the gym."]),
    1: (["{S} has a few close friends and sees them most weeks, though less than before.",
         "Maintains some social contact, mainly through work and a weekly class.",
         "Reports occasional outings with friends; would like more."],
        ["I have a couple of friends I see now and then, not as much as I'd like.",
         "I still see people at work and sometimes go out, it's ok.",
         "I talk to a friend or two every week, it's fine I guess."]),
    2: (["{S} reports seeing friends less often and spending most evenings alone.",
         "Social contact has decreased {time}; declines most invitations.",
         "Describes drifting away from friends and feeling somewhat disconnected."],
        ["I've been pulling away from my friends and mostly staying home.",
         "I don't really go out anymore, I keep cancelling plans.",
         "I feel kind of disconnected from people, I don't know how to explain it."]),
    3: (["{S} lives alone and reports feeling lonely and cut off; rarely leaves the apartment.",
         "Describes feeling like {N} does not belong anywhere and that friends have moved on without {O}.",
         "Socially withdrawn; has lost contact with most friends {time}.",
         "Reports pervasive loneliness and feeling left out by peers.",
         "{S} states 'nobody reaches out to me' and describes feeling invisible at work and at home.",
         "Describes feeling excluded from {P} peer group since the move; eats meals alone."],
        ["I feel so lonely, most of my friends stopped texting me and I don't fit in anywhere.",
         "I moved here for work and I don't know anyone, I spend every weekend alone.",
         "I feel like an outsider everywhere, like nobody really wants me around.",
         "I'm always the one left out, people make plans without me.",
         "nobody ever texts me first. if i stopped reaching out i don't think anyone would talk to me.",
         "I sit alone at lunch every day and watch everyone else laugh with their friends.",
         "I feel invisible. I could go a whole week and no one would ask how I'm doing.",
         "All my friends have partners or new friends now and I've kind of been forgotten.",
         "I don't really have anyone. I spend my evenings scrolling and talking to no one.",
         "since the breakup i lost our friend group too, they all took his side and i have nobody."]),
    4: (["{S} has not spoken to another person outside of work in weeks and reports no friends.",
         "Severe social isolation: no friends, no contact with family, spends days alone in {P} room.",
         "States that no one would notice if {N} disappeared; feels completely alone.",
         "Reports profound loneliness and a sense that {N} belongs nowhere and with no one.",
         "Endorses thwarted belongingness: believes no one cares about {O} and that {N} has no place among others.",
         "Has had no friendships since adolescence; family contact ceased {time}; isolated at home most days."],
        ["I have no friends at all. I go days without talking to anyone.",
         "Nobody would even notice if I disappeared. I'm completely alone.",
         "I haven't talked to a single person in weeks, I just sit in my room.",
         "Everyone left. I have no one, literally no one, and I don't belong anywhere.",
         "I have never had a real friend in my life. Not one person cares whether I'm alive.",
         "i'm 27 and i've been alone my whole life, no friends, no partner, my family doesn't talk to me.",
         "The loneliness is crushing. I talk to the cashier at the store and that's my only conversation all week.",
         "I don't belong anywhere and I never have. Every group I try to join ignores me.",
         "No one calls, no one visits, no one would come to my funeral."]),
}

SUPPORT = {
    0: (["{S} reports no one to turn to; estranged from family and without friends to rely on.",
         "No identifiable support system.", "States that when things get bad there is nobody {N} can call."],
        ["There's nobody I can talk to about this, no one has my back.",
         "My family doesn't care and I have no one to lean on.",
         "If something happened to me there's no one I could call."]),
    1: (["Limited support: one acquaintance {N} occasionally texts, family unavailable.",
         "Support system is thin and unreliable; {P} partner is often dismissive.",
         "Family relationships strained; little practical or emotional support."],
        ["My family kind of helps but they don't really get it and mostly make it worse.",
         "I have one friend I text sometimes but I don't want to bother her.",
         "My partner tells me to just get over it, so I don't really have support."]),
    2: (["{S} has some support from a sibling, though contact is irregular.",
         "Moderate support; {P} {rel} helps with practical things but emotional support is limited.",
         "Support system present but {S} reluctant to use it."],
        ["My {relc} helps out sometimes but I don't tell them everything.",
         "I have a few people I could talk to, I just don't always reach out.",
         "My family is ok, they check in once in a while."]),
    3: (["{S} identifies {P} {rel} and a close friend as supportive and available.",
         "Good support from partner, who attended part of today's session.",
         "Reports supportive relationships with family; calls {P} {rel} when struggling."],
        ["My {relc} has been really supportive, I can call her whenever.",
         "My partner is great, he listens and helps me when I'm having a bad day.",
         "I have a couple of people I can always count on."]),
    4: (["Strong support network: close family, partner and friends who check in daily.",
         "{S} describes an engaged, caring family and several friends {N} can rely on.",
         "Excellent social support; church community and family are actively involved."],
        ["I'm lucky, my family and friends are always there for me no matter what.",
         "I have an amazing support system, my husband and my parents check on me every day.",
         "My friends and family have been incredible, I never feel like I'm dealing with this alone."]),
}

FAMILY_POS = (["Family history significant for {ill} in {P} {rel}.", "Positive family psychiatric history: {rel} with {ill}.",
               "{S} reports that {P} {rel} died by suicide.", "Notes {ill} in {P} {rel} and maternal grandfather."],
              ["My {relc} has {ill} too, so I guess it runs in the family.",
               "My {relc} struggled with {ill} my whole childhood.",
               "My {relc} killed himself when I was twelve.", "Depression runs in my family, my {relc} has it."])
FAMILY_NEG = (["Denies family psychiatric history.", "No known family history of mental illness or substance use.",
               "Family history noncontributory."],
              ["As far as I know nobody in my family has had mental health problems.",
               "No one in my family has ever dealt with anything like this."])

MOOD = [  # (valence, note, client)
    (-1.0, ["Mood 'hopeless'; affect constricted and tearful throughout.", "Reports feeling worthless and hopeless about the future."],
     ["I feel completely hopeless, like nothing will ever get better.", "I hate my life and I'm so tired of everything."]),
    (-0.6, ["Mood described as 'down'; affect sad and anxious.", "Reports low mood, poor concentration and irritability {time}.",
            "{S} appears stressed and overwhelmed by work deadlines and bills."],
     ["I've been really down {time} and everything feels like too much.", "I'm so stressed and anxious I can't focus on anything.",
      "I'm overwhelmed, I can't sleep and I keep crying for no reason."]),
    (0.0, ["Mood 'okay'; affect mildly restricted.", "Mood stable since the last visit, neither better nor worse."],
     ["I'm doing ok I guess, some days are better than others.", "Things are about the same as last time."]),
    (0.5, ["Mood improved; {S} reports more energy and interest in activities.", "Affect brighter; smiled and joked in session."],
     ["I've been feeling a bit better lately, I actually went for a run.", "This week was pretty good, I feel more like myself."]),
    (1.0, ["Mood 'great'; reports feeling hopeful and proud of recent progress.", "Euthymic and optimistic; goals largely met."],
     ["I feel really good, honestly happier than I've been in years.", "I'm proud of myself, things are going great."]),
]

# Negative content that is neither isolation nor trauma (work, money, health, conflict, grief):
# without it, a head could learn "negative text" instead of its own construct.
STRESS = (["Reports significant work stress; fears losing {P} job after a poor review.",
           "Financial strain: behind on rent and worried about debt.",
           "Describes frequent arguments with {P} partner about chores and money.",
           "Anxious about upcoming exams; reports racing thoughts and poor concentration.",
           "Grieving the death of {P} {rel} from cancer earlier this year.",
           "Chronic back pain limits activity and worsens mood.",
           "Reports panic attacks before meetings, with palpitations and shortness of breath.",
           "Conflict with {P} teenage son over school attendance."],
          ["Work is killing me, my boss is on my case every day and I'm scared I'll get fired.",
           "Money is so tight, I'm behind on rent and I can't stop worrying about it.",
           "My boyfriend and I fight constantly, mostly about stupid stuff like dishes.",
           "Finals are coming and I'm panicking, I can't focus or sleep.",
           "My {relc} died in the spring and I still cry about it every day.",
           "I've had panic attacks at work, my heart races and I feel like I can't breathe.",
           "My health has been bad and the doctors can't figure out what's wrong.",
           "My kids are driving me crazy and I feel like a failure as a parent.",
           "I can't stop overthinking everything, my anxiety is through the roof."])

FILLER = (["Sleep 6-7 hours; appetite normal.", "Medication adherence good; no side effects reported.",
           "Discussed sleep hygiene and a behavioural activation plan.", "Reviewed homework from last session.",
           "Works full time as a {job}.", "Plan: continue weekly CBT, revisit goals next session.",
           "Caffeine 2-3 cups daily; no alcohol or drug use reported.", "Attended session on time, casually dressed."],
          ["I work as a {job} and it keeps me busy.", "I've been trying to drink less coffee.",
           "I started the worksheet you gave me but didn't finish it.", "I'm not sleeping great, maybe 5 hours.",
           "I have a doctor's appointment next week for my back.", "Work has been pretty busy this month."])
JOBS = ["nurse", "teacher", "warehouse worker", "software developer", "cashier", "student", "electrician", "cook"]
# Client messages often end in a question; each is tied to the construct it asks about.
QUESTIONS = {
    "trauma": ["How do I get past what happened to me?", "Can therapy actually help with PTSD?",
               "Is it normal to still feel this way years after the abuse?",
               "How do I stop reliving it every time I close my eyes?",
               "Will I ever feel safe again after what he did to me?"],
    "isolation": ["How do I make friends when I feel this alone?", "Why does nobody want to be around me?",
                  "How do people even find a place where they belong?", "Is it normal to have no friends at my age?"],
    "family": ["Does this mean I'll end up like my {relc}?", "Is mental illness genetic? My {relc} has it too."],
    "other": ["What should I do?", "Is this normal?", "How do I deal with this?", "Any advice would help.",
              "Should I see a therapist about this?"],
}

OPEN = (["Session {n}. {S} attended alone.", "Follow-up visit, session {n}.", "Intake assessment.",
         "Individual therapy, 50 minutes.", "Telehealth session {n}."],
        ["Hi, I'm not really sure how to start this.", "I've never written something like this before.",
         "Okay so here goes.", "I don't know if this is the right place to ask but", "Some background first."])


def _fill(rng: random.Random, s: str, pron: tuple[str, str, str]) -> str:
    return s.format(S=rng.choice(["Client", "Patient", "Pt", pron[0].capitalize()]), N=pron[0], P=pron[1], O=pron[2],
                    rel=rng.choice(REL), relc=rng.choice(REL_C), ill=rng.choice(ILLNESS), time=rng.choice(TIME),
                    job=rng.choice(JOBS), n=rng.randint(1, 20), ev=rng.choice(EVENT_N))


def _casual(rng: random.Random, text: str) -> str:
    """Client writing is often informal: lower case, dropped apostrophes."""
    if rng.random() < 0.25:
        text = text.lower()
    if rng.random() < 0.2:
        text = text.replace("'", "")
    return text


def session(rng: random.Random) -> dict:
    """One text and the labels that follow from it."""
    client = rng.random() < 0.5
    r = 1 if client else 0
    pron = rng.choice([("she", "her", "her"), ("he", "his", "him")])
    parts: list[tuple[float, float, str]] = []  # (valence, weight, sentence)

    def add(valence, sentence, weight=1.0):
        parts.append((valence, weight, _fill(rng, sentence, pron)))

    trauma_kinds: list[str] = []
    if rng.random() < 0.45:
        n = rng.choice([1, 1, 2, 2, 3, 3, 4, 5, 6, 7])
        kinds = ["event", *TRAUMA]
        trauma_kinds = rng.sample(kinds, n)
        for k in trauma_kinds:
            if k == "event":
                add(-0.7, rng.choice(EVENT_C) + "." if client else
                    f"{rng.choice(['Reports', 'Discloses', 'History of'])} {rng.choice(EVENT_N)}.")
            else:
                add(-0.6, rng.choice(TRAUMA[k][r]))
    elif rng.random() < 0.4:
        add(0.0, rng.choice(TRAUMA_NONE[r]))

    isolation = rng.choices(range(5), weights=[3, 3, 3, 3, 2])[0]
    # Support leans opposite to isolation (lonely people often lack support) but not always.
    support = min(4, max(0, round(4 - isolation + rng.gauss(0, 1.3))))
    if rng.random() < 0.85:
        for s in rng.sample(ISOLATION[isolation][r], rng.choice([1, 1, 2])):
            add(0.5 - 0.35 * isolation, s)
    else:
        isolation = 1  # unspecified: no sign of isolation written; score the neutral-low level
    if rng.random() < 0.85:
        for s in rng.sample(SUPPORT[support][r], rng.choice([1, 1, 2])):
            add(-0.6 + 0.35 * support, s)
    else:
        support = 2  # unspecified support: the middle of the scale

    family = 0
    if rng.random() < 0.3:
        family = 1
        add(-0.2, rng.choice(FAMILY_POS[r]))
    elif rng.random() < 0.35:
        add(0.0, rng.choice(FAMILY_NEG[r]))

    if rng.random() < 0.5:
        for s in rng.sample(STRESS[r], rng.choice([1, 1, 2])):
            add(-0.5, s)

    mood_val, mood_note, mood_client = rng.choice(MOOD)
    add(mood_val, rng.choice(mood_client if client else mood_note), weight=2.0)
    for s in rng.sample(FILLER[r], rng.randint(0, 3)):
        add(0.0, s, weight=0.5)

    rng.shuffle(parts)
    sentences = [_fill(rng, rng.choice(OPEN[r]), pron)] if rng.random() < 0.6 else []
    sentences += [p[2] for p in parts]
    if client and rng.random() < 0.5:
        topics = ["other"] + ["trauma"] * bool(trauma_kinds) + ["isolation"] * (isolation >= 3) + ["family"] * family
        sentences.append(_fill(rng, rng.choice(QUESTIONS[rng.choice(topics)]), pron))
    text = " ".join(sentences)
    if client:
        text = _casual(rng, text)
    weighted = sum(v * w for v, w, _ in parts)
    total = sum(w for v, w, _ in parts if v != 0.0 or w >= 1.0) or 1.0
    sentiment = max(-1.0, min(1.0, weighted / total + rng.gauss(0, 0.05)))
    return {"text": text, "sentiment_intensity": round(sentiment, 3), "family_history": family,
            "trauma_indicators": len(trauma_kinds), "social_isolation_score": isolation,
            "support_system_strength": support}


def generate(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """n synthetic sessions; the same (n, seed) always gives the same frame."""
    rng = random.Random(seed)
    return pd.DataFrame([session(rng) for _ in range(n)], columns=COLUMNS)


if __name__ == "__main__":
    import sys

    df = generate(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
    for row in df.itertuples(index=False):
        print(row, "\n")
