"""The crisis categories the phrase rules and the banner name."""

from __future__ import annotations

IDEATION = "suicidal ideation"
PLAN = "intent or plan"
PREPARATORY = "preparatory acts"
ATTEMPT = "past attempt"
SELF_HARM = "self-harm"
OTHER_SUICIDE = "suicide of a relative or other person: risk factor"
CRISIS_CATEGORIES = (IDEATION, PLAN, PREPARATORY, ATTEMPT, SELF_HARM)
