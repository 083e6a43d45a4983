"""Task registry: IMHI query format, label sets, versions, and no torch on import."""

import subprocess
import sys

import pytest

from core.errors import ValidationError
from core.llm.tasks import DATASET_TASKS, TASKS, get_task, split_query, task_for_query


def test_imhi_query_format():
    t = get_task("depression")
    assert t.build_query("I feel low") == 'Consider this post: "I feel low" Question: Does the poster suffer from depression?'
    assert split_query(t.build_query("I feel low")) == ("I feel low", "Does the poster suffer from depression?")


@pytest.mark.parametrize("name,labels", [
    ("stress_cause", {"school", "financial problem", "family issues", "social relationships", "work",
                      "health issues", "emotional turmoil", "everyday decision making", "other"}),
    ("depression_cause", {"none", "bias or abuse", "jobs and careers", "medication", "relationship", "alienation"}),
    ("mental_disorder", {"no mental disorders", "suicide or self-harm tendency", "depression", "ptsd", "anxiety",
                         "bipolar"}),
    ("risk", {"low", "medium", "high"}),
    ("progression", {"improving", "stable", "worsening"}),
])
def test_label_sets(name, labels):
    assert set(get_task(name).labels) == labels


def test_every_task_is_versioned_and_has_distinct_sentences():
    for task in TASKS.values():
        assert task.prompt_version and task.kind in ("classify", "generate")
        assert len(set(task.label_sentences.values())) == len(task.labels)
    for dim in ("spiritual", "physical", "intellectual", "social", "vocational", "emotional"):
        assert f"wellness_{dim}" in TASKS
    assert {"irf_thwarted_belongingness", "irf_perceived_burdensomeness", "loneliness"} <= set(TASKS)


def test_unknown_task_lists_known_ones():
    with pytest.raises(ValidationError, match="known tasks: .*depression"):
        get_task("horoscope")


def test_task_for_query_uses_the_question():
    q = 'Consider this post: "x" Question: Does the post show risk of perceived burdensomeness?'
    assert task_for_query(q, "Irf").name == "irf_perceived_burdensomeness"
    assert task_for_query(q).name == "irf_perceived_burdensomeness"
    assert DATASET_TASKS["multiwd"][0].startswith("wellness_")
    with pytest.raises(ValidationError):
        task_for_query('Consider this post: "x" Question: What is your name?')


def test_answer_template():
    t = get_task("stress")
    assert t.answer("yes", "Exams.") == "Yes, the poster suffers from stress. Reasoning: Exams."
    with pytest.raises(ValidationError):
        t.answer("maybe")


def test_light_modules_do_not_import_torch():
    code = "import sys, core, core.llm.tasks, core.llm.answers, core.llm.model, core.llm.evidence, core.llm.lora, core.llm.imhi; " \
           "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_task_object_passes_through_get_task_so_a_run_resolves_it_once():
    from core.llm.tasks import get_task

    task = get_task("depression")
    assert get_task(task) is task
