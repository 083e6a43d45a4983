"""Seeded generator of the synthetic demo cohort.

About a dozen fictional patients, each with 6-12 dated session notes that
follow a course (improving, worsening, stable, fluctuating). A note is built
from phrase banks chosen by the patient's latent state at that visit: mood,
isolation, support, trauma load, family history. Everything is invented; the
same seed always gives the same cohort, so tests and the demo share it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

FIRST_NAMES = ["Alex", "Sam", "Jordan", "Maria", "Tomasz", "Aisha", "Kenji", "Leila", "Daniel", "Grace",
               "Mateo", "Priya", "Olu", "Hannah", "Ivan", "Nora"]
LAST_NAMES = ["Reyes", "Novak", "Okafor", "Lindqvist", "Haddad", "Moreau", "Tanaka", "Brennan", "Kowalski",
              "Mensah", "Alvarez", "Schmidt", "Rossi", "Nakamura", "Ahmed", "Walsh"]

COURSES = ["improving", "worsening", "stable", "improving", "worsening", "fluctuating", "stable", "improving",
           "worsening", "stable", "improving", "fluctuating"]

OPENERS = [
    "Session {n}.", "Follow-up visit {n}.", "Seen today for session {n}.", "Review appointment ({n}).",
    "Visit {n}, in person.", "Session {n}, video call.",
]

MOOD = {
    0: ["Reports feeling well and more like themselves.", "Says mood has been good most days this month.",
        "Describes a bright, steady mood and enjoys their days again.",
        "\"I actually feel hopeful for the first time in ages,\" they said."],
    1: ["Mood described as okay, with some flat days.", "Reports mild low mood in the evenings.",
        "Says things are 'up and down' but manageable.", "Some days are heavy, others fine."],
    2: ["Reports persistent low mood and tearfulness most days.", "Describes feeling empty and unmotivated.",
        "\"Everything feels grey,\" they said; little pleasure in usual activities.",
        "Sleep poor, waking at 4am with low mood and worry."],
    3: ["Reports profound low mood, hopelessness and exhaustion.",
        "Describes feeling worthless and that nothing will improve.",
        "\"I can't see the point of anything anymore,\" they said.",
        "Barely eating, not sleeping, crying daily; says they feel like a burden."],
}

ISOLATION = {
    0: ["Sees friends regularly and joined a walking group.", "Spends weekends with family and colleagues."],
    1: ["Keeps in touch with a couple of friends, though less than before.",
        "Occasionally goes out but often prefers staying home."],
    2: ["Has stopped replying to friends' messages.", "Spends most evenings alone and avoids social plans.",
        "Feels disconnected from people at work."],
    3: ["Has not left the flat in two weeks except for groceries.",
        "Says nobody would notice if they disappeared; completely withdrawn.",
        "Feels utterly alone and has cut off contact with everyone."],
}

SUPPORT = {
    0: ["Little practical or emotional support at the moment.", "Lives alone and has no one to call in a crisis."],
    1: ["Has one friend they can sometimes talk to.", "Family live far away and contact is sporadic."],
    2: ["Partner is supportive, and a sibling checks in weekly.", "Has a few people to lean on when things are hard."],
    3: ["Strong support network: partner, close friends and a peer group.",
        "Family are closely involved and very supportive; attends a support group."],
}

TRAUMA = {
    0: [],
    1: ["Mentions a difficult childhood but does not want to go into it."],
    2: ["Describes intrusive memories of a car accident last year.",
        "Talked about emotional abuse from a former partner."],
    3: ["Reports nightmares and flashbacks of childhood abuse.",
        "Describes repeated assault in the past and ongoing hypervigilance."],
}

FAMILY_HISTORY = [
    "Mother was treated for depression.", "Father had bipolar disorder.",
    "Family history of anxiety and alcohol misuse.", "A grandparent died by suicide.",
]
NO_FAMILY_HISTORY = ["No known family psychiatric history.", "Family history unremarkable."]

PLANS = [
    "Plan: continue current medication and weekly sessions.", "Agreed to a behavioural activation schedule.",
    "Plan: review sleep hygiene and follow up in two weeks.", "Discussed graded exposure; homework set.",
    "Will continue CBT; safety plan reviewed.", "Medication dose unchanged; review in four weeks.",
]

# Crisis language appears only at the most severe points of a worsening course.
CRISIS = [
    "They disclosed thoughts of wanting to die and have looked up ways to kill themselves.",
    "Reports suicidal thoughts most days and has been thinking about taking an overdose.",
    "Admits to cutting their arms again last week to cope.",
]
NEGATED_RISK = [
    "Denies suicidal ideation or thoughts of self-harm.", "No thoughts of self-harm; denies any plan or intent.",
]


@dataclass
class DemoVisit:
    visit_date: str
    text: str


@dataclass
class DemoPatient:
    pseudonym: str
    display_name: str
    course: str
    consent_ml: bool
    visits: list[DemoVisit]


def _course_severity(course: str, i: int, n: int, rng: random.Random) -> float:
    """Latent severity in [0, 3] at visit i of n."""
    t = i / max(n - 1, 1)
    if course == "improving":
        base = 2.7 - 2.3 * t
    elif course == "worsening":
        base = 0.6 + 2.4 * t
    elif course == "fluctuating":
        base = 1.5 + 1.0 * (1 if i % 3 == 1 else -0.5)
    else:
        base = 1.2
    return min(3.0, max(0.0, base + rng.uniform(-0.35, 0.35)))


def _level(x: float) -> int:
    return int(min(3, max(0, round(x))))


def generate_cohort(seed: int = 7, n_patients: int = 12, today: date | None = None) -> list[DemoPatient]:
    rng = random.Random(seed)
    today = today or date(2026, 11, 1)
    patients = []
    names = rng.sample([(f, la) for f in FIRST_NAMES for la in LAST_NAMES], n_patients)
    for p in range(n_patients):
        course = COURSES[p % len(COURSES)]
        n_visits = rng.randint(6, 12)
        family = rng.random() < 0.4
        trauma_base = rng.choice([0, 0, 1, 2, 3])
        gap_days = [rng.randint(10, 35) for _ in range(n_visits)]
        last_seen_ago = rng.randint(0, 45)
        start = today - timedelta(days=sum(gap_days) + last_seen_ago)
        visits, day = [], start
        for i in range(n_visits):
            day += timedelta(days=gap_days[i])
            sev = _course_severity(course, i, n_visits, rng)
            mood, iso = _level(sev), _level(sev + rng.uniform(-0.6, 0.6))
            support = _level(3 - sev + rng.uniform(-0.5, 0.5))
            parts = [rng.choice(OPENERS).format(n=i + 1), rng.choice(MOOD[mood]), rng.choice(ISOLATION[iso]),
                     rng.choice(SUPPORT[support])]
            trauma_lines = TRAUMA[trauma_base]
            if trauma_lines and rng.random() < 0.7:
                parts.append(rng.choice(trauma_lines))
            if i == 0 or rng.random() < 0.25:
                parts.append(rng.choice(FAMILY_HISTORY if family else NO_FAMILY_HISTORY))
            if course == "worsening" and sev > 2.6:
                parts.append(rng.choice(CRISIS))
            elif rng.random() < 0.5:
                parts.append(rng.choice(NEGATED_RISK))
            parts.append(rng.choice(PLANS))
            visits.append(DemoVisit(day.isoformat(), " ".join(parts)))
        first, last = names[p]
        patients.append(DemoPatient(
            pseudonym=f"DEMO-{p + 1:03d}",
            display_name=f"{first} {last}",
            course=course,
            consent_ml=(p != n_patients - 1),  # one patient without consent shows how the UI handles it
            visits=visits,
        ))
    return patients
