"""Codec LM: delay pattern round trip, sampling filters, generation stops, codes in range, CFG scale 0/1,
determinism, save/load and a tiny training run that must lower the loss (its old `train speech-lm` recipe is replaced by the prosody LM's)."""


import pytest
import torch

from emotive.conditioning import Emotion
from emotive.generators.speech.lm import (
    PHONES,
    CodecLM,
    LMError,
    build_delay_pattern,
    frames_from_timings,
    phone_ids,
    revert_delay_pattern,
    sample_token,
    tiny_lm_config,
)

HELLO = phone_ids(["pau", "hh", "ah", "l", "ow", "pau"])


def _lm(seed=0, **kw):
    torch.manual_seed(seed)
    cfg = tiny_lm_config(num_codebooks=3, codebook_size=16)
    for k, v in kw.items():
        setattr(cfg, k, v)
    return CodecLM(cfg).eval()


def test_delay_pattern_roundtrip_and_eos():
    codes = torch.randint(0, 16, (2, 3, 7))
    d = build_delay_pattern(codes, eos=16, pad=17)
    assert d.shape == (2, 3, 10)
    assert torch.equal(revert_delay_pattern(d, 3), codes)
    assert d[0, 2, 0] == 17 and d[0, 2, 1] == 17 and d[0, 2, 2] == codes[0, 2, 0]
    assert all(int(d[0, k, 7 + k]) == 16 for k in range(3))           # EOS one slot after each codebook's last code
    lens = torch.tensor([7, 4])
    d2 = build_delay_pattern(codes, 16, 17, lens)
    assert all(int(d2[1, k, 4 + k]) == 16 for k in range(3))
    assert (d2[1, 0, 5:] == 17).all()
    assert torch.equal(revert_delay_pattern(d2, 3)[1, :, :4], codes[1, :, :4])


def test_sample_token_filters():
    logits = torch.tensor([0.0, 5.0, 1.0, 4.9])
    g = torch.Generator().manual_seed(0)
    assert int(sample_token(logits, g, temperature=0)) == 1
    assert all(int(sample_token(logits, g, 1.0, top_k=1)) == 1 for _ in range(20))
    assert all(int(sample_token(logits, g, 1.0, top_p=0.01)) == 1 for _ in range(20))
    picks = {int(sample_token(logits, g, 1.0, top_k=2)) for _ in range(200)}
    assert picks == {1, 3}                                             # only the two best survive top-k=2


def test_generation_stops_codes_in_range_and_guard():
    lm = _lm()
    g = torch.Generator().manual_seed(0)
    codes = lm.generate(HELLO, "slt", "happy", generator=g)
    assert codes.shape[:2] == (1, 3)
    assert 1 <= codes.shape[-1] <= lm.config.max_frames
    assert int(codes.min()) >= 0 and int(codes.max()) < 16
    # an untrained model rarely picks EOS: the hard guard ends it predicted-length + guard frames after start
    durs = torch.tensor([3, 2, 2, 2, 2, 3])
    codes = lm.generate(HELLO, "slt", "happy", generator=g, durations=durs)
    assert codes.shape[-1] <= int(durs.sum()) + lm.config.guard_frames
    lm.config.max_frames = 5
    assert lm.generate(HELLO, "slt", "sad", generator=g, durations=durs * 10).shape[-1] <= 5


def test_eos_logit_stops_generation():
    lm = _lm()
    with torch.no_grad():
        lm.heads[0].bias.fill_(-30.0)
        lm.heads[0].bias[lm.config.eos] = 30.0                          # codebook 0 always wants to stop
    codes = lm.generate(HELLO, "joe", "neutral", generator=torch.Generator().manual_seed(0))
    assert codes.shape[-1] == 1                                         # EOS is banned only at frame 0


def test_determinism_with_seeded_generator():
    lm = _lm()
    a = lm.generate(HELLO, "slt", "angry", generator=torch.Generator().manual_seed(3), guidance_scale=2.0)
    b = lm.generate(HELLO, "slt", "angry", generator=torch.Generator().manual_seed(3), guidance_scale=2.0)
    c = lm.generate(HELLO, "slt", "angry", generator=torch.Generator().manual_seed(4), guidance_scale=2.0)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_cfg_scale_zero_ignores_emotion_and_one_uses_it():
    lm = _lm(seed=1)
    with torch.no_grad():                                               # make the emotion matter a lot
        lm.emotion.net[-1].weight.mul_(50)
    durs = torch.tensor([2, 2, 2, 2, 2, 2])

    def gen(emo, scale):
        return lm.generate(HELLO, "slt", emo, generator=torch.Generator().manual_seed(0), guidance_scale=scale,
                           durations=durs, temperature=0)

    assert torch.equal(gen("happy", 0.0), gen("sad", 0.0))            # scale 0 = unconditional: emotion ignored
    assert not torch.equal(gen("happy", 1.0), gen("sad", 1.0))
    assert torch.equal(gen("happy", 1.0), gen(Emotion.parse("happy"), 1.0))


def test_errors_and_save_load(tmp_path):
    lm = _lm()
    with pytest.raises(LMError):
        lm.generate(HELLO, "nobody", "happy")
    with pytest.raises(LMError):
        lm.generate([], "slt", "happy")
    lm.save_pretrained(tmp_path / "lm")
    back = CodecLM.from_pretrained(tmp_path / "lm")
    a = lm.generate(HELLO, "slt", "happy", generator=torch.Generator().manual_seed(0), temperature=0)
    b = back.generate(HELLO, "slt", "happy", generator=torch.Generator().manual_seed(0), temperature=0)
    assert a.shape[1] == b.shape[1]
    with pytest.raises(LMError):
        CodecLM.from_pretrained(tmp_path / "none")


def test_frames_from_timings_sum_exactly():
    phones = [{"phone": "pau", "start": 0, "end": 0.11}, {"phone": "HH", "start": 0.11, "end": 0.2},
              {"phone": "xx", "start": 0.2, "end": 0.5}]
    ids, durs = frames_from_timings(phones, 26, 50.0)
    assert sum(durs) == 26 and ids == [1, PHONES.index("hh"), 1] and min(durs) >= 0


def test_tiny_training_lowers_loss():
    lm = _lm()
    lm.train()
    torch.manual_seed(0)
    codes = torch.randint(0, 16, (2, 3, 12))
    batch = {"phones": torch.tensor([HELLO, HELLO]), "durs": torch.tensor([[2] * 6, [2] * 6]),
             "voice": torch.tensor([0, 1]), "emotion": torch.zeros(2, 12), "codes": codes,
             "lengths": torch.tensor([12, 12])}
    opt = torch.optim.Adam(lm.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        r = lm(**batch)
        opt.zero_grad()
        r["loss"].backward()
        opt.step()
        first = float(r["ce"].detach()) if first is None else first
    assert float(r["ce"].detach()) < 0.5 * first


def test_eval_subset_is_spread_and_deterministic():
    from emotive.generators.speech.codec_lm_train import _eval_subset

    items = [{"id": f"u{i:03d}"} for i in range(100)][::-1]
    sub = _eval_subset(items, 10)
    assert [it["id"] for it in sub] == [it["id"] for it in _eval_subset(list(reversed(items)), 10)]
    assert len(sub) == 10 and sub[0]["id"] == "u000" and sub[-1]["id"] == "u099"
    assert len(_eval_subset(items, 0)) == 100 and len(_eval_subset(items[:5], 10)) == 5


def test_history_off_ignores_token_feedback_and_code_drop_trains():
    """history=False: each frame follows phones/voice/emotion only, so a model whose token embeddings are
    wiped generates exactly the same codes; code_drop blanks inputs only in training mode."""
    lm = _lm(seed=2)
    durs = torch.tensor([2, 2, 2, 2, 2, 2])

    def gen(model, history):
        return model.generate(HELLO, "kal", "calm", generator=torch.Generator().manual_seed(0), durations=durs,
                              temperature=0, history=history)

    a = gen(lm, False)
    wiped = _lm(seed=2)
    with torch.no_grad():
        for e in wiped.code_emb:
            e.weight.normal_()
    assert torch.equal(gen(wiped, False), a)
    assert not torch.equal(gen(wiped, True), gen(lm, True))
    # forward: blanking every input changes the loss; code_drop only acts while training
    batch = {"phones": torch.tensor([HELLO]), "durs": durs[None], "voice": lm.voice_ids(["kal"]),
             "emotion": torch.zeros(1, 12), "codes": torch.randint(0, 16, (1, 3, 12)), "lengths": torch.tensor([12])}
    dropper = _lm(seed=2, code_drop=1.0)
    with torch.no_grad():
        full, blank = lm(**batch)["ce"], lm(**batch, history=False)["ce"]
        assert not torch.isclose(full, blank)
        assert torch.isclose(dropper(**batch)["ce"], full)               # eval mode: no dropping
        dropper.train()
        dropper.config.dropout = 0.0
        for m in dropper.modules():
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
        for b in dropper.dec:
            b.p = 0.0
        for b in dropper.enc:
            b.p = 0.0
        assert torch.isclose(dropper(**batch)["ce"], blank)             # training with code_drop 1 = all blank
