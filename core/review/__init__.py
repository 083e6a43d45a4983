"""QA review: the queue of model outputs, reviewers' decisions, agreement, exports and quality statistics.

``from core import review`` gives the whole public surface; each idea lives in its own module:
``items`` (the queue: items, priority, claims), ``decisions`` (approve/flag/skip, adjudication), ``agreement``
(kappa/alpha), ``training_sets`` (flags and training exports), ``quality`` (flag-rate statistics).
"""

from core.review.decisions import (
    adjudicate,
    agreement_report,
    assign,
    decide,
    disagreements,
    send_back,
    set_overlap,
)
from core.review.items import (
    DECISIONS,
    LOCK_MINUTES,
    MAX_OVERLAP,
    REASONS,
    SEVERITIES,
    STATUSES,
    WITHHELD,
    QueueFilters,
    QueuePage,
    claim,
    claim_next,
    confidence_of,
    facets,
    get_overlap,
    item_view,
    priority_of,
    queue,
    release,
    reviewers,
    task_labels,
)
from core.review.quality import QualityStats, quality_stats
from core.review.training_sets import (
    EXPORT_FORMATS,
    EXPORT_PERMISSION,
    FLAG_FORMATS,
    TRAINING_FORMATS,
    ExportResult,
    export,
    export_formats,
)

__all__ = [
    "REASONS", "SEVERITIES", "DECISIONS", "STATUSES", "LOCK_MINUTES", "MAX_OVERLAP", "WITHHELD", "QueueFilters", "QueuePage",
    "queue", "facets", "reviewers", "item_view", "claim", "claim_next", "release", "decide", "send_back", "assign",
    "get_overlap", "set_overlap", "disagreements", "adjudicate", "agreement_report", "export", "ExportResult",
    "EXPORT_FORMATS", "FLAG_FORMATS", "TRAINING_FORMATS", "EXPORT_PERMISSION", "export_formats", "quality_stats",
    "QualityStats", "confidence_of", "priority_of", "task_labels",
]
