import numpy as np

from emotive.generators.speech.align import boundary_errors, transfer_boundaries


def test_boundary_errors_match_by_label():
    a = [{"phone": "pau", "start": 0, "end": 0.1}, {"phone": "hh", "start": 0.1, "end": 0.2}, {"phone": "ay", "start": 0.2, "end": 0.4}]
    b = [{"phone": "hh", "start": 0.12, "end": 0.2}, {"phone": "eh", "start": 0.2, "end": 0.3}, {"phone": "ay", "start": 0.25, "end": 0.4}]
    e = boundary_errors(a, b)
    assert np.allclose(sorted(e), [0.02, 0.05])


def test_transfer_on_time_stretched_copy():
    sr = 16000
    rng = np.random.default_rng(0)
    # three distinct "phones": noise, low tone, high tone
    seg = [rng.standard_normal(3200) * 0.1, 0.2 * np.sin(2 * np.pi * 200 * np.arange(4800) / sr),
           0.2 * np.sin(2 * np.pi * 2500 * np.arange(3200) / sr)]
    ref = np.concatenate(seg).astype(np.float32)
    slow = np.concatenate([np.repeat(s, 2)[: 2 * len(s)] if i == 1 else s for i, s in enumerate(seg)]).astype(np.float32)
    phones = [{"phone": "s", "start": 0.0, "end": 0.2}, {"phone": "aa", "start": 0.2, "end": 0.5}, {"phone": "iy", "start": 0.5, "end": 0.7}]
    moved = transfer_boundaries(ref, phones, slow, sr)
    assert abs(moved[1]["start"] - 0.2) < 0.03
    assert abs(moved[2]["start"] - 0.8) < 0.05
