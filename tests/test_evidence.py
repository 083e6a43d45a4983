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
