"""How every model output is introduced to a reader: the decision-support disclaimer and who signed it."""

from __future__ import annotations

DISCLAIMER = "Decision support, not a diagnosis. Model outputs need clinical judgement."


def signer(analysis: dict) -> str:
    """Who signed an output, as a colleague reads it: the display name with the account name, the account name
    alone when no display name is set, or the user id when the account is gone."""
    name = analysis.get("signed_by_name")
    display = (analysis.get("signed_by_display") or "").strip()
    if name and display and display != name:
        return f"{display} ({name})"
    return name or display or f"user {analysis['signed_by']}"
