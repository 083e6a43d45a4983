"""Evidence linking with the packaged all-MiniLM-L6-v2 encoder."""

import pytest

from core.errors import ValidationError


def test_split_sentences_offsets_point_into_the_text():
    from core.llm.evidence import split_sentences

    text = "  I can't sleep.\nWork is piling up!  My boss yells (daily). ok"
    parts = split_sentences(text)
    assert [p[0] for p in parts] == ["I can't sleep.", "Work is piling up!", "My boss yells (daily).", "ok"]
    for sentence, start, end in parts:
        assert text[start:end] == sentence


def test_claims_link_to_supporting_sentences_and_unsupported_claims_are_marked(settings):
    from core.llm.evidence import link_evidence, load_sentence_embedder

    source = ("I haven't slept properly in weeks. Work keeps piling up and my boss yells at me every day. "
              "My cat is orange.")
    rationale = ("The poster reports insomnia lasting weeks. They describe pressure and conflict at work. "
                 "The poster mentions a recent divorce.")
    links = link_evidence(rationale, source, settings=settings)
    assert [c["claim"] for c in links] == ["The poster reports insomnia lasting weeks.",
                                          "They describe pressure and conflict at work.",
                                          "The poster mentions a recent divorce."]
    assert links[0]["supported"] and links[0]["evidence"][0]["sentence"] == "I haven't slept properly in weeks."
    assert links[1]["supported"] and "boss" in links[1]["evidence"][0]["sentence"]
    assert not links[2]["supported"]
    for claim in links:
        for e in claim["evidence"]:
            assert source[e["start"]:e["end"]] == e["sentence"]
    assert load_sentence_embedder(settings) is load_sentence_embedder(settings)  # loaded once


def test_edge_cases(settings):
    from core.llm.evidence import link_evidence

    assert link_evidence("", "Some text.", settings=settings) == []
    with pytest.raises(ValidationError):
        link_evidence("A claim.", "   ", settings=settings)


def test_claims_the_note_contradicts_are_marked_contradicted_never_supported(settings):
    from core.llm.evidence import link_evidence, support_summary

    note = ("Patient denies suicidal ideation. Started volunteering, sees sister weekly. "
            "Sleep is poor, about four hours a night.")
    rationale = ("The patient shows suicidal ideation. Her social withdrawal is consistent with depression. "
                 "She reports poor sleep. The poster mentions a recent divorce.")
    links = link_evidence(rationale, note, settings=settings)
    assert [c["status"] for c in links] == ["contradicted", "contradicted", "supported", "unsupported"]
    # the first claim is very similar to its note sentence: similarity alone would have called it support
    assert links[0]["score"] >= 0.35 and links[0]["supported"] is False
    assert links[0]["contradicted_by"]["sentence"] == "Patient denies suicidal ideation."
    assert links[1]["contradicted_by"]["sentence"] == "Started volunteering, sees sister weekly."
    for c in links[:2]:
        ev = c["contradicted_by"]
        assert note[ev["start"]:ev["end"]] == ev["sentence"] and ev["reason"]
    assert links[2]["contradicted_by"] is None
    assert support_summary(links) == {"supported": 1, "unsupported": 1, "contradicted": 2}


def test_other_phrasings_of_denial_and_consistent_claims(settings):
    from core.llm.evidence import link_evidence

    note = ("She has never self-harmed. No alcohol since the spring. Appetite is low and she has lost weight. "
            "She is not sleeping.")
    rationale = ("The patient has a history of self-harm. She drinks alcohol. Her appetite is reduced. "
                 "She has trouble sleeping.")
    statuses = [c["status"] for c in link_evidence(rationale, note, settings=settings)]
    assert statuses == ["contradicted", "contradicted", "supported", "supported"]


def test_results_stored_before_the_check_still_read(settings):
    from core.llm.evidence import claim_status, support_summary

    old = [{"claim": "a", "supported": True}, {"claim": "b", "supported": False}]
    assert [claim_status(c) for c in old] == ["supported", "unsupported"]
    assert support_summary(old) == {"supported": 1, "unsupported": 1, "contradicted": 0}
