"""De-identification: recall and precision on a labelled synthetic set, known hard cases, log redaction."""

from __future__ import annotations

import logging
import random

import pytest

from core.safety.deid import PHIRedactingFilter, deidentify, find_identifiers, install_log_redaction

STRUCTURED = ("DATE", "PHONE", "EMAIL", "ADDRESS", "ID", "URL")

# Pools deliberately mix names in core.safety.deid's lists with names that are not in them.
FIRST = ["Anna", "Tom", "Maria", "James", "Priya", "Oksana", "Tariq", "Bronwyn", "Declan", "Ifeoma", "Sophie",
         "Liam", "Chen", "Fatima", "Ruairi", "Siobhan", "Kwame", "Elena", "Dmitri", "Hannah", "Beatriz", "Yusuf"]
LAST = ["Smith", "Kowalski", "Okonkwo", "Vasquez", "Lindqvist", "Patel", "O'Brien", "Nakamura", "Brown",
        "Featherstone", "Adeyemi", "Murphy", "Dubois", "Haverford", "Castellano"]
TITLES = ["Mr.", "Mrs", "Ms.", "Dr.", "Dr", "Prof."]
RELATIONS = ["sister", "brother", "mother", "husband", "wife", "partner", "friend", "son", "daughter", "therapist",
             "boss", "flatmate", "cousin", "grandmother"]
STREETS = ["Baker Street", "Elm Road", "Maple Avenue", "Station Lane", "Church Road", "Oak Drive", "High Street",
           "Victoria Terrace"]
CITIES = ["Leeds", "Boston", "Manchester", "Springfield", "Cork", "Portland"]
MONTHS = ["January", "Feb", "March", "Apr", "June", "Sept", "October", "Dec"]

NEGATIVES = [
    "PHQ-9 score 14, down from 19. GAD-7 was 12.",
    "Sertraline 50 mg daily; increase to 100 mg if tolerated.",
    "Slept 5 hours a night for 2 weeks; appetite reduced.",
    "Beck Depression Inventory and the Columbia scale were completed.",
    "Denies suicidal ideation. Mood 4/10, anxiety 7/10.",
    "Plan: review in 4 weeks, continue CBT, sleep hygiene advice.",
    "BP 120/80, pulse 72, BMI 24.5. Bloods normal.",
    "Drinks 3 units per week. No illicit drugs since 2019.",
    "The patient says work has been stressful since the restructuring.",
    "Discussed relapse prevention plan and crisis line details.",
    "Lithium level 0.6 mmol/L; TSH within range.",
    "Attended 6 of 8 sessions of group therapy.",
    "Feels hopeful about the new job and enjoys running again.",
    "Reports panic attacks twice a week, lasting 10 to 15 minutes.",
]


def _date(rng):
    d, m, y = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1950, 2026)
    return rng.choice([
        f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{m}/{d}/{y}", f"{d}.{m}.{y}", f"{d} {rng.choice(MONTHS)} {y}",
        f"{rng.choice(MONTHS)} {d}, {y}", f"{d}th of {rng.choice(MONTHS)}", f"{rng.choice(MONTHS)} {y}",
        f"{d:02d}/{m:02d}/{y % 100:02d}",
    ])


def _phone(rng):
    a, b, c = rng.randint(200, 999), rng.randint(200, 999), rng.randint(1000, 9999)
    return rng.choice([
        f"{a}-{b}-{c}", f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", f"+44 20 {b}{c % 10} {c}",
        f"07{rng.randint(100, 999)} {rng.randint(100000, 999999)}", f"0{a}{b}{c}", f"{a}-{b}-{c} ext. 12",
    ])


def _email(rng, first, last):
    return rng.choice([f"{first}.{last}".lower().replace("'", ""), f"{first[0]}{last}".lower().replace("'", ""),
                       f"{first.lower()}{rng.randint(1, 99)}"]) + "@" + rng.choice(
        ["gmail.com", "example.org", "nhs.net", "mail.co.uk", "uni.edu"])


def _url(rng, last):
    last = last.replace("'", "")
    return rng.choice([f"https://www.facebook.com/{last.lower()}", f"http://{last.lower()}-blog.net/about",
                       f"www.instagram.com/{last.lower()}{rng.randint(1, 99)}", f"https://linkedin.com/in/{last.lower()}"])


def _id(rng):
    n = rng.randint(100000, 9999999)
    return rng.choice([
        ("MRN ", f"{n}"), ("MRN: ", f"{n}"), ("medical record number ", f"{n}"), ("SSN ", f"{rng.randint(100, 899)}-"
                                                                              f"{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"),
        ("NHS number ", f"{rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"),
        ("patient ID ", f"PT-{n}"), ("insurance no. ", f"XK{n}"), ("", f"{rng.randint(100, 899)}-{rng.randint(10, 99)}-"
                                                                    f"{rng.randint(1000, 9999)}"),
        ("record #", f"{n}"),
    ])


def _address(rng):
    no = rng.randint(1, 999)
    street = rng.choice(STREETS)
    return rng.choice([
        f"{no} {street}", f"{no} {street}, {rng.choice(CITIES)}", f"{no} {street}, Apt {rng.randint(1, 40)}",
        f"{no} {street}, {rng.choice(CITIES)}, MA {rng.randint(10000, 99999)}",
        f"{no} {street}, Leeds LS{rng.randint(1, 9)} {rng.randint(1, 9)}AB",
    ])


def build_set(n: int = 400, seed: int = 11) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """``n`` synthetic notes with the exact (start, end, kind) of every identifier placed in them."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        parts: list[tuple[str, str | None]] = []  # (text, kind or None)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        for _ in range(rng.randint(2, 5)):
            choice = rng.randrange(12)
            if choice == 0:
                parts += [(f"Seen with {rng.choice(TITLES)} ", None), (f"{first} {last}" if rng.random() < .5 else last,
                                                                        "NAME"), (" today.", None)]
            elif choice == 1:
                parts += [(f"Her {rng.choice(RELATIONS)} ", None), (rng.choice(FIRST), "NAME"),
                          (" has been supportive.", None)]
            elif choice == 2:
                parts += [("Patient: ", None), (f"{first} {last}", "NAME"), ("\n", None)]
            elif choice == 3:
                parts += [("Next appointment on ", None), (_date(rng), "DATE"), (".", None)]
            elif choice == 4:
                parts += [("Call back on ", None), (_phone(rng), "PHONE"), (" after 5pm.", None)]
            elif choice == 5:
                parts += [("Email ", None), (_email(rng, first, last), "EMAIL"), (" for letters.", None)]
            elif choice == 6:
                cue, value = _id(rng)
                parts += [(f"Referred with {cue}", None), (value, "ID"), (".", None)]
            elif choice == 7:
                parts += [("Lives at ", None), (_address(rng), "ADDRESS"), (" with two flatmates.", None)]
            elif choice == 8:
                parts += [("Posted about it on ", None), (_url(rng, last), "URL"), (" last week.", None)]
            elif choice == 9:
                parts += [(rng.choice(["My name is ", "Signed by ", "She is called "]), None), (rng.choice(FIRST), "NAME"),
                          (".", None)]
            elif choice == 10:
                parts += [("Born ", None), (_date(rng), "DATE"), ("; ", None), (rng.choice(FIRST), "NAME"),
                          (" reports low mood.", None)]
            else:
                parts += [(rng.choice(NEGATIVES), None)]
            parts.append((" ", None))
        text, gold, pos = "", [], 0
        for chunk, kind in parts:
            if kind:
                gold.append((pos, pos + len(chunk), kind))
            text += chunk
            pos += len(chunk)
        docs.append((text, gold))
    return docs


def evaluate(docs) -> dict:
    """Per kind: recall (identifier fully hidden), and overall precision of predicted spans."""
    found: dict[str, list[int]] = {}
    tp_pred = n_pred = 0
    for text, gold in docs:
        spans = find_identifiers(text)
        covered = set()
        for s in spans:
            covered.update(range(s.start, s.end))
        for start, end, kind in gold:
            hidden = all(i in covered or text[i].isspace() for i in range(start, end))
            found.setdefault(kind, [0, 0])
            found[kind][0] += hidden
            found[kind][1] += 1
        for s in spans:
            n_pred += 1
            tp_pred += any(s.start < e and st < s.end for st, e, _ in gold)
    recall = {k: v[0] / v[1] for k, v in found.items()}
    structured = [found[k] for k in STRUCTURED if k in found]
    recall["STRUCTURED"] = sum(a for a, _ in structured) / sum(b for _, b in structured)
    return {"recall": recall, "precision": tp_pred / max(1, n_pred), "support": {k: v[1] for k, v in found.items()},
            "predicted": n_pred}


def test_recall_and_precision_on_labelled_synthetic_set(capsys):
    result = evaluate(build_set())
    recall = result["recall"]
    with capsys.disabled():
        print("\nde-id on 400 synthetic notes: " + ", ".join(f"{k} recall {v:.3f}" for k, v in sorted(recall.items()))
              + f"; precision {result['precision']:.3f} of {result['predicted']} spans")
    assert recall["STRUCTURED"] >= 0.95
    for kind in STRUCTURED:
        assert recall[kind] >= 0.9, (kind, recall[kind])
    assert recall["NAME"] >= 0.85  # names are the hard part; reported separately
    assert result["precision"] >= 0.9


def test_clinical_text_without_identifiers_is_left_alone():
    for sentence in NEGATIVES:
        assert deidentify(sentence) == sentence, find_identifiers(sentence)


@pytest.mark.parametrize("text,expected", [
    ("Seen with Mr. John Smith (MRN 4482913) on 12/03/2024.", "Seen with Mr. [NAME] (MRN [ID]) on [DATE]."),
    ("Call 555-123-4567 or email john.smith@example.com.", "Call [PHONE] or email [EMAIL]."),
    ("My sister Anna came along.", "My sister [NAME] came along."),
    ("Lives at 42 Baker Street, London NW1 6XE.", "Lives at [ADDRESS]."),
    ("SSN 123-45-6789. See https://foo.org/x.", "SSN [ID]. See [URL]."),
    ("Her husband, Tom, called on 3 March 2024.", "Her husband, [NAME], called on [DATE]."),
    ("NHS number 943 476 5919.", "NHS number [ID]."),
    ("Patient: Maria Lopez\nDOB: 1990-05-05", "Patient: [NAME]\nDOB: [DATE]"),
    ("Dr Kowalski adjusted the dose.", "Dr [NAME] adjusted the dose."),
    ("Contact via 192.168.0.12 logs.", "Contact via [ID] logs."),
    ("Will review in 2 weeks. May feel tired.", "Will review in 2 weeks. May feel tired."),
    ("Anna, 34, presents with low mood.", "[NAME], 34, presents with low mood."),
])
def test_known_cases(text, expected):
    assert deidentify(text) == expected


def test_spans_are_sorted_disjoint_and_match_text():
    text = "Dr. Anna Kowalski (anna@x.org, 020 7946 0958) saw Tom on 2024-01-02 at 1 High Street."
    spans = find_identifiers(text)
    assert spans == sorted(spans, key=lambda s: s.start)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
    assert all(text[s.start:s.end] == s.text for s in spans)
    assert {s.kind for s in spans} == {"NAME", "EMAIL", "PHONE", "DATE", "ADDRESS"}


def test_empty_and_odd_input():
    assert deidentify("") == ""
    assert find_identifiers("") == []
    assert deidentify("\x00\ud800 ‮ 🙂") == "\x00\ud800 ‮ 🙂"


def test_log_filter_removes_phi():
    import io

    logger = logging.getLogger("mhdash.test.filter")
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.addFilter(PHIRedactingFilter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("Upload failed for %s (%s), phone %s", "Mr. John Smith", "john@example.com", "555-123-4567")
        try:
            raise ValueError("bad note for patient Maria Lopez born 1990-05-05")
        except ValueError:
            logger.exception("analysis failed for MRN 4482913")
    finally:
        logger.removeHandler(handler)
    out = buf.getvalue()
    for secret in ("John Smith", "john@example.com", "555-123-4567", "Maria Lopez", "1990-05-05", "4482913"):
        assert secret not in out, secret
    assert "[NAME]" in out and "[EMAIL]" in out and "Traceback" in out


def test_installed_redaction_covers_every_logger():
    import io

    install_log_redaction()
    install_log_redaction()  # idempotent
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    child = logging.getLogger("some.library.deep.child")
    child.addHandler(handler)
    child.propagate = False
    try:
        child.error("note text: my sister Anna lives at 12 Elm Road; call 07700 900123")
    finally:
        child.removeHandler(handler)
    out = buf.getvalue()
    assert "Anna" not in out and "Elm Road" not in out and "900123" not in out


# Hand-written notes in free prose, marked up inline; written after the rules and not used to tune them,
# so their numbers are the more honest estimate. Marked {KIND:text}.
FREE_PROSE = """\
Pt is a 34 y/o woman referred by Dr {NAME:Helen Marsh} at the Riverside practice after an overdose on {DATE:5/11/2023}.
She lives with her partner {NAME:Joel} and their son in a flat on {ADDRESS:17 Canal Street}, {ADDRESS:M1 3HE}.
Her mother, {NAME:Gwen Pryce}, phoned the ward ({PHONE:0161 496 0734}) worried about discharge.
Collateral from Aunt {NAME:Sally}: has been drinking heavily since {DATE:August 2022}.
Emailed the crisis plan to {EMAIL:s.pryce@protonmail.com} and copied Ms {NAME:Ndlovu} from social care.
NHS no. {ID:485 777 3456}; hospital number {ID:RX4471923}.
Follow-up booked for Tuesday {DATE:14 November} with Dr. {NAME:Abernathy}.
He wrote about the breakup on {URL:https://www.reddit.com/r/depression/comments/abc123}.
Saw {NAME:Kieran} today; he says {NAME:Lucia} left him two weeks ago and moved to {ADDRESS:221B Baker Street}.
Insurance member id {ID:W2938-44810}, callback {PHONE:(617) 555-0142}.
Denies thoughts of self-harm. Sleep 6 hours. PHQ-9 11. Continue mirtazapine 15 mg at night.
Discussed with Nurse {NAME:Okoro} on {DATE:03.02.2024}; plan agreed.
Her friend {NAME:Marguerite} drove her in from {ADDRESS:8 Willow Close}, {ADDRESS:Harrogate}.
Patient reports voices since {DATE:Christmas 2021}, worse at night.
Dad ({NAME:Phil}) can be reached at {PHONE:+353 87 123 4567}.
"""


def _parse_markup(marked: str):
    import re

    text, gold = "", []
    for m in re.finditer(r"\{(\w+):([^}]*)\}|[^{]+", marked):
        if m.group(1):
            gold.append((len(text), len(text) + len(m.group(2)), m.group(1)))
            text += m.group(2)
        else:
            text += m.group(0)
    return text, gold


def test_free_prose_recall_is_reported(capsys):
    docs = [_parse_markup(line) for line in FREE_PROSE.splitlines() if line.strip()]
    result = evaluate(docs)
    recall = result["recall"]
    with capsys.disabled():
        print("\nde-id on hand-written free prose: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(recall.items()))
              + f"; precision {result['precision']:.2f} of {result['predicted']} spans; support {result['support']}")
    assert recall["STRUCTURED"] >= 0.8


def test_demo_cohort_notes_are_left_alone():
    """The demo generator's notes (written by someone else, free of identifiers) show the false-positive rate."""
    from core.synthetic.cohort import generate_cohort

    notes = [v.text for p in generate_cohort() for v in p.visits]
    flagged = [(s.kind, s.text) for text in notes for s in find_identifiers(text)]
    assert len(notes) > 50
    assert flagged == []


# Written after the rules above and first run without changing them: the held-out estimate was structured
# recall 0.81 (13/16), names 0.43 (3/7), precision 0.95. Generic fixes followed (accented letters in names,
# "Ref:" numbers, "Flat 4," and apostrophes in addresses, town before a postcode, "texted"), so the set is no
# longer unseen; it now guards against regressions.
HELD_OUT = """\
Telephone review with {NAME:Magdalena} ({PHONE:+48 601 234 567}); her brother {NAME:Jakub Wiśniewski} was present.
Ref: {ID:HX-2231-9981}. Discharged from St Mary's on the {DATE:3rd of May 2025}.
Lives alone at {ADDRESS:Flat 4, 9 Queen's Road}, {ADDRESS:Bristol BS8 1QU}; landlord Mr {NAME:Pennington} is pressing for rent.
Partner {NAME:Ayo} texted {PHONE:+234 803 555 0199} asking about visiting hours.
Her Instagram is {URL:instagram.com/maggie_w_art} and she emails from {EMAIL:maggie.w+art@outlook.com}.
Next review {DATE:21/07/2025} with Dr. {NAME:Fenwick-Lowe}; pharmacy fax {PHONE:0117 496 0123}.
Social security number {ID:078-05-1120} on the old referral letter.
{NAME:Bartholomew} (her son, 17) found the tablets on Sunday {DATE:2 March}.
Collateral: sister-in-law {NAME:Roisin} says drinking restarted around {DATE:Easter 2024}.
DOB {DATE:02-11-1987}, MRN {ID:00918273}, insurance {ID:BCBS-7781-22}.
"""


def test_held_out_prose_is_reported(capsys):
    docs = [_parse_markup(line) for line in HELD_OUT.splitlines() if line.strip()]
    result = evaluate(docs)
    recall = result["recall"]
    with capsys.disabled():
        print("\nde-id held-out prose: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(recall.items()))
              + f"; precision {result['precision']:.2f} of {result['predicted']} spans; support {result['support']}")
    assert recall["STRUCTURED"] >= 0.9 and result["precision"] >= 0.9
