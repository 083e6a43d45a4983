"""Token attributions for a visit's note: which words pushed a head's score up or down.

The same route as every model run on a note: the caller's access to the patient, the patient's consent to ML
analysis, then the model, then an audit event naming the visit, the head and the model version.
"""

from __future__ import annotations

from core import backends
from core.clinical.access import require_consent, visit_for
from core.context import Context
from core.errors import ValidationError
from core.models.heads import HEAD_NAMES


def explain_visit(ctx: Context, visit_id: int, head: str, encoder) -> list[tuple[str, float]]:
    """Per-word attributions of ``head`` on the visit's note (integrated gradients; see core.models.explain)."""
    visit, patient = visit_for(ctx, visit_id)
    require_consent(patient)
    if head not in HEAD_NAMES:
        raise ValidationError(f"Unknown head {head!r}; heads are {', '.join(HEAD_NAMES)}")
    backends.require_in_process(encoder, "Token attributions", "encoder_url")
    from core.models.explain import explain  # torch

    pairs = explain(encoder, visit["text"], head)
    ctx.audit("model.explain", "visit", visit_id, patient_id=patient["id"], head=head,
              model_version=encoder.version)
    return pairs
