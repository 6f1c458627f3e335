"""WORLD codec decoder (decode-only settings): the token format and the codec-LM cache key never change with
them, voicing edges and F0 upsampling behave as documented, GV gains are fitted from clips, legacy folders
decode as before, and decoding stays deterministic."""

import json

import numpy as np
import pytest
import torch

from emotive.generators.speech.codec import CodecError, load_codec
from emotive.generators.speech.codec_lm_train import _codec_hash
from emotive.generators.speech.codec_world import (
    WorldCodec,
    WorldDecoderConfig,
    WorldFrames,
    fit_world_decoder,
    tiny_world_config,
)
from tests.generators.speech.test_codec_world import _random_codec, _voiced

SHIPPED_CODEC_HASH = "170de79f21e1"
"""Token-cache key of the shipped codec: the codec LM is trained on these tokens, so only the decoder may change."""


def _frames(voiced, logf0, dims=40):
    voiced = np.asarray(voiced, bool)
    T = len(voiced)
    return WorldFrames(np.where(voiced, logf0, 0.0), voiced, np.zeros((T, dims), np.float32), np.full(T, -20.0))


def test_decoder_settings_change_neither_codes_nor_cache_key():
    c = _random_codec()
    x = _voiced()
    key, codes = _codec_hash(c), c.encode(x)
    c.decoder = WorldDecoderConfig(frame_period_ms=10.0, f0_interp="linear", postfilter_beta=0.3, ap_offset_db=3.0)
    c.gv_gain = np.full(c.config.env_dims, 1.5, np.float32)
    assert _codec_hash(c) == key and torch.equal(c.encode(x), codes)
    y = c.decode(codes)
    assert y.shape == (1, 1, codes.shape[-1] * 320) and torch.isfinite(y).all()
    assert torch.equal(c.decode(codes), y)                                   # deterministic


def test_voicing_edges_sit_at_boundary_frame_centres():
    c = WorldCodec(tiny_world_config(), decoder=WorldDecoderConfig(f0_interp="pchip", voicing_trim=True))
    voiced = np.zeros(12, bool)
    voiced[3:8] = True                                                       # code frames 3..7 (20 ms each)
    f0, env, ap = c._frame_params(_frames(voiced, np.log(150.0), c.config.env_dims))
    assert f0.shape == (48,) and env.shape == (48, c.config.env_dims) and ap.shape == (48, 1)
    t = np.arange(48) * 5.0
    on = t[f0 > 0]
    assert on[0] == 3 * 20 + 5 and on[-1] == 7 * 20 + 5                      # code-frame centres (20 k + 5 ms)
    assert np.allclose(f0[f0 > 0], 150.0)
    c.decoder = WorldDecoderConfig(voicing_trim=False)
    f0b, _, _ = c._frame_params(_frames(voiced, np.log(150.0), c.config.env_dims))
    assert (f0b > 0).sum() == 5 * 4                                           # whole code frames


def test_pchip_f0_stays_within_each_voiced_run():
    c = WorldCodec(tiny_world_config())
    voiced = np.array([1, 1, 1, 0, 0, 1, 1, 1], bool)
    logf0 = np.log([100.0, 110.0, 120.0, 1, 1, 200.0, 190.0, 180.0])
    f0, _, _ = c._frame_params(_frames(voiced, logf0, c.config.env_dims))
    first, second = f0[:12][f0[:12] > 0], f0[20:][f0[20:] > 0]
    assert first.min() >= 100.0 - 1e-6 and first.max() <= 120.0 + 1e-6       # monotone cubic: no overshoot
    assert second.min() >= 180.0 - 1e-6 and second.max() <= 200.0 + 1e-6     # not pulled towards the other run
    c.decoder = WorldDecoderConfig.legacy()
    f0l, _, _ = c._frame_params(_frames(voiced, logf0, c.config.env_dims))
    assert f0l.shape == (16,) and f0l[5] > 120.0                             # the old decoder bridges the gap
    with pytest.raises(CodecError):
        WorldCodec(tiny_world_config(), decoder=WorldDecoderConfig(f0_interp="cubic"))


def test_gv_fit_scales_envelope_deviation_and_round_trips(tmp_path):
    c = _random_codec()
    clips = [_voiced(f, seed=i) * (1 + 0.5 * np.sin(np.linspace(0, 9, 16000))).astype(np.float32)
             for i, f in enumerate((110.0, 170.0))]
    codes = [c.encode(x) for x in clips]
    fit = fit_world_decoder(c, clips, rounds=1, progress=False)
    g = fit["gv_gain"]
    assert g is c.gv_gain and g.shape == (c.config.env_dims,) and np.all(np.isfinite(g)) and np.all(g > 0)
    assert fit["ap_offset_db"] == c.decoder.ap_offset_db and np.isfinite(fit["level_db"])
    assert all(torch.equal(c.encode(x), k) for x, k in zip(clips, codes))
    fr = c.dequantise(codes[0][0].numpy())
    dec = c.decoder
    c.decoder = WorldDecoderConfig(gv=False)
    _, e0, _ = c._frame_params(fr)
    c.decoder = WorldDecoderConfig(gv=True, gv_strength=1.0)
    _, e1, _ = c._frame_params(fr)
    assert np.allclose(e1.std(0), e0.std(0) * g, rtol=1e-4, atol=1e-6)
    assert np.allclose(e1.mean(0), e0.mean(0), atol=1e-4)
    c.decoder = dec
    c.save_pretrained(tmp_path / "w")
    back = load_codec(tmp_path / "w")
    assert back.decoder == c.decoder and np.array_equal(back.gv_gain, g)
    assert torch.equal(back.decode(codes[0]), c.decode(codes[0]))


def test_folder_without_decoder_files_decodes_like_the_first_release(tmp_path):
    c = _random_codec()
    c.save_pretrained(tmp_path / "w")
    (tmp_path / "w" / "decoder.json").unlink()
    back = load_codec(tmp_path / "w")
    assert back.decoder == WorldDecoderConfig.legacy() and back.gv_gain is None
    d = json.loads(json.dumps(vars(WorldDecoderConfig())))
    d["version"] = 99
    (tmp_path / "w" / "decoder.json").write_text(json.dumps(d))
    with pytest.raises(CodecError):
        load_codec(tmp_path / "w")


@pytest.mark.pretrained
def test_shipped_codec_cache_key_and_decoder():
    from emotive.generators.speech.codec import PRETRAINED_DIR

    if not (PRETRAINED_DIR / "model.safetensors").is_file():
        pytest.skip("no codec shipped")
    c = load_codec()
    assert _codec_hash(c) == SHIPPED_CODEC_HASH
    assert c.decoder.frame_period_ms == 5.0 and c.decoder.f0_interp == "pchip" and c.gv_gain is not None
    assert 0.0 < c.decoder.ap_offset_db < 10.0 and abs(c.decoder.level_db) < 6.0   # fitted, not the legacy zeros
    codes = c.encode(_voiced(140.0, n=8000))
    y = c.decode(codes)
    assert torch.equal(c.decode(codes), y) and float(y.abs().max()) > 0.01


def test_ship_copies_decoder_files_and_drops_stale_ones(tmp_path):
    from emotive.generators.speech.codec_train import ship

    c = _random_codec()
    c.gv_gain = np.full(c.config.env_dims, 1.2, np.float32)
    c.save_pretrained(tmp_path / "run" / "latest")
    ship(tmp_path / "run", tmp_path / "dest", "card")
    back = load_codec(tmp_path / "dest")
    assert back.decoder == c.decoder and np.array_equal(back.gv_gain, c.gv_gain)
    (tmp_path / "run" / "latest" / "decoder.json").unlink()
    (tmp_path / "run" / "latest" / "decoder.safetensors").unlink()
    ship(tmp_path / "run", tmp_path / "dest", "card")
    assert not (tmp_path / "dest" / "decoder.json").exists() and load_codec(tmp_path / "dest").gv_gain is None


def test_ship_keeps_the_curated_model_card(tmp_path):
    from emotive.generators.speech.codec_train import RUN_SECTION, ship

    _random_codec().save_pretrained(tmp_path / "run" / "latest")
    ship(tmp_path / "run", tmp_path / "dest", "# codec\n\n- steps: 1\n")
    assert (tmp_path / "dest" / "MODEL_CARD.md").read_text() == "# codec\n\n- steps: 1\n"      # a new folder
    (tmp_path / "dest" / "MODEL_CARD.md").write_text("# codec\n\nMeasured: STOI 0.91 (bench).\n")
    ship(tmp_path / "run", tmp_path / "dest", "# codec\n\n- steps: 2\n")
    ship(tmp_path / "run", tmp_path / "dest", "# codec\n\n- steps: 3\n")
    card = (tmp_path / "dest" / "MODEL_CARD.md").read_text()
    assert "STOI 0.91" in card and card.count(RUN_SECTION) == 1 and "steps: 3" in card and "steps: 2" not in card
