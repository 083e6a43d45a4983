"""Models loaded from several threads at once (the dashboard's warm-up loads the language model while a page loads
the encoder): every load completes with real weights. Before loads were serialised (core.hardware.one_load_at_a_time)
this failed with "cannot import name 'AutoModel'" or "Cannot copy out of meta tensor"."""

import threading

import pytest


@pytest.mark.slow
def test_the_language_model_and_the_encoder_load_in_parallel_threads_with_real_weights():
    from core.llm.model import load_llm
    from core.models.encoder import load_encoder
    from core.settings import load_settings

    settings = load_settings(env={})
    problems: list[str] = []

    def run(load, module_of):
        try:
            module = module_of(load(settings))
            problems.extend(f"{name} on meta" for name, p in module.named_parameters() if p.is_meta)
        except Exception as exc:  # noqa: BLE001 - every failure is what this test reports
            problems.append(repr(exc)[:200])

    for _ in range(3):
        threads = [threading.Thread(target=run, args=(load_llm, lambda llm: llm.model)),
                   threading.Thread(target=run, args=(load_encoder, lambda enc: enc.model)),
                   threading.Thread(target=run, args=(load_encoder, lambda enc: enc.model))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert problems == []
