"""Motion diffusion: data building, a tiny training run, the sampling pipeline (windows, CFG, seeds)."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
import torch

from emotive.conditioning import Emotion, EmotiveError
from emotive.generators.face.audio_features import FEATURE_DIM, audio_features
from emotive.generators.face.dataset import build_dataset, hold_out_speakers, read_rows
from emotive.generators.face.model import MotionDenoiser
from emotive.generators.face.phones import phones_from_text
from emotive.generators.face.pipeline import PRETRAINED, MotionDiffusionPipeline, load_denoiser, save_denoiser
from emotive.generators.face.train import TrainConfig, train

SENTENCES = ["Hello there, how are you?", "The rain stopped before noon.", "Please open the window."]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A 3-row manifest in the speech corpus's row format, made with espeak-ng."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng not installed")
    d = tmp_path_factory.mktemp("corpus")
    (d / "wavs").mkdir()
    rows = []
    for i, (text, emo) in enumerate(zip(SENTENCES, ["happy", "sad", "angry"])):
        wav = d / "wavs" / f"{i}.wav"
        subprocess.run([exe, "-v", "en-us", "-w", str(wav), text], check=True)
        audio, sr = sf.read(wav)
        phones = phones_from_text(text, audio=audio, sr=sr)
        rows.append({"id": str(i), "wav": f"wavs/{i}.wav", "sr": sr, "text": text,
                     "phones": [{"phone": p.phone.lower() if p.phone != "sil" else "pau", "start": p.start, "end": p.end}
                                for p in phones],
                     "emotion": Emotion.parse(emo).to_dict(), "split": "test" if i == 2 else "train"})  # fmt: skip
    (d / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return d


def test_hold_out_speakers_moves_only_their_train_rows():
    rows = [{"id": "a", "speaker": "v1", "split": "train"}, {"id": "b", "speaker": "v2", "split": "train"},
            {"id": "c", "speaker": "v2", "split": "test"}]  # fmt: skip
    out = hold_out_speakers(rows, ["v2"])
    assert [r["split"] for r in out] == ["train", "heldout_voice", "test"]
    assert rows[1]["split"] == "train"  # the input rows are not changed
    assert hold_out_speakers(rows, []) == rows
    with pytest.raises(EmotiveError, match="nobody"):
        hold_out_speakers(rows, ["nobody"])


def test_audio_features_shape_and_normalisation():
    sr = 22050
    t = np.arange(sr * 2) / sr
    f = audio_features(np.sin(2 * np.pi * 220 * t) * (t > 0.5), sr)
    assert f.shape == (50, FEATURE_DIM) and np.isfinite(f).all()
    assert np.allclose(f.mean(axis=0), 0, atol=1e-3)
    assert audio_features(np.zeros(8000), 16000, num_frames=30).shape == (30, FEATURE_DIM)


def test_build_train_sample(corpus, tmp_path):
    rows = read_rows(corpus)
    info = build_dataset(rows, tmp_path / "d.npz", takes=2, progress=False)
    assert info["clips"] == 6 and info["skipped"] == 0
    cfg = TrainConfig(
        steps=6, batch_size=4, window=32, dim=32, layers=1, heads=2, ff=64, ckpt_minutes=100, warmup=2
    )
    logs = []
    last = train(tmp_path / "d.npz", tmp_path / "run", cfg, resume=False, log=logs.append)
    assert (last / "state.pt").exists() and json.loads((last / "train_info.json").read_text())["step"] == 6
    # Resuming a finished run does no more steps.
    train(tmp_path / "d.npz", tmp_path / "run", cfg, resume=True, log=logs.append)
    assert any("resumed at step 6" in line for line in logs)

    pipe = MotionDiffusionPipeline.from_pretrained(last / "model")
    pipe.window = 32
    audio, sr = sf.read(rows[0]["wav"])
    long_audio = np.concatenate([audio, audio, audio])  # several windows
    a = pipe(long_audio, sr, "happy", generator=torch.Generator().manual_seed(1), num_steps=4)
    b = pipe(long_audio, sr, "happy", generator=torch.Generator().manual_seed(1), num_steps=4)
    c = pipe(
        long_audio, sr, "happy", generator=torch.Generator().manual_seed(2), num_steps=4, guidance_scale=1.0
    )
    n = round(len(long_audio) / sr * 25)
    assert a.motion.num_frames == n and a.windows > 2
    assert np.array_equal(a.motion.to_array(), b.motion.to_array())
    assert not np.allclose(a.motion.to_array(), c.motion.to_array())
    assert a.motion.meta["source"] == "diffusion"

    # The end-to-end pipeline renders the sampled motion.
    import skimage.data

    from emotive.generators.face.motion import FaceMotion
    from emotive.generators.face.talking import TalkingPortraitPipeline

    talk = TalkingPortraitPipeline(pipe)
    res = talk(skimage.data.astronaut(), rows[0]["wav"], tmp_path / "t.mp4", "sad",
               generator=torch.Generator().manual_seed(0), num_steps=3, motion_out=tmp_path / "t.json")  # fmt: skip
    assert res.motion_source == "diffusion" and (tmp_path / "t.mp4").stat().st_size > 1000
    assert FaceMotion.load(tmp_path / "t.json").num_frames == res.motion.num_frames

    # save / load round trip of the shippable format
    pipe.save_pretrained(tmp_path / "ship")
    assert (tmp_path / "ship" / "model.safetensors").exists() and (tmp_path / "ship" / "config.json").exists()
    again = MotionDiffusionPipeline.from_pretrained(tmp_path / "ship")
    for k, v in pipe.model.state_dict().items():
        assert torch.equal(v, again.model.state_dict()[k])


def test_windows_cover_and_crossfade_identity():
    """With a model that returns the same motion for every window, the joined result is that motion."""
    model = MotionDenoiser(dim=16, layers=1, heads=2, ff=32)
    pipe = MotionDiffusionPipeline(model, window=20)
    starts = pipe._windows(53, overlap=6)
    assert starts[0] == 0 and starts[-1] + 20 == 53
    covered = np.zeros(53, bool)
    for s in starts:
        covered[s : s + 20] = True
    assert covered.all()


def test_bad_sampling_options_are_clear_errors():
    pipe = MotionDiffusionPipeline(MotionDenoiser(dim=16, layers=1, heads=2, ff=32), window=20)
    audio = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    for kw, words in [({"num_steps": 0}, "num_steps"), ({"num_steps": 2.5}, "num_steps"),
                      ({"guidance_scale": float("nan")}, "guidance_scale"), ({"guidance_scale": -1}, "guidance_scale")]:  # fmt: skip
        with pytest.raises(EmotiveError, match=words):
            pipe(audio, 16000, "sad", **kw)
    assert len(pipe(audio, 16000, "sad", num_steps=1).motion) == 25


def test_save_load_denoiser(tmp_path):
    m = MotionDenoiser(dim=16, layers=1, heads=2, ff=32)
    save_denoiser(m, tmp_path / "m")
    m2 = load_denoiser(tmp_path / "m")
    x = torch.randn(2, 10, 58)
    f = torch.randn(2, 10, FEATURE_DIM)
    e = torch.randn(2, 12)
    t = torch.tensor([3, 500])
    assert torch.allclose(m.eval()(x, t, f, e), m2(x, t, f, e))


@pytest.mark.pretrained
def test_shipped_model_follows_audio_and_emotion():
    if not (PRETRAINED / "config.json").exists():
        pytest.skip("no shipped motion model yet")
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng not installed")
    import tempfile

    from emotive.generators.face.procedural import energy_envelope

    with tempfile.TemporaryDirectory() as td:
        wav = f"{td}/s.wav"
        subprocess.run(
            [exe, "-v", "en-us", "-w", wav, "I finally opened the letter that was waiting on my desk."],
            check=True,
        )
        audio, sr = sf.read(wav)
    pipe = MotionDiffusionPipeline.from_pretrained()
    happy = pipe(audio, sr, "happy", generator=torch.Generator().manual_seed(0)).motion
    sad = pipe(audio, sr, "sad", generator=torch.Generator().manual_seed(0)).motion
    e = energy_envelope(audio, sr, len(happy))
    assert np.corrcoef(happy.curve("jawOpen"), e)[0, 1] > 0.3
    assert happy.curve("mouthSmileLeft").mean() > sad.curve("mouthSmileLeft").mean() + 0.2
    assert sad.curve("browInnerUp").mean() > happy.curve("browInnerUp").mean() + 0.2
    from emotive.generators.face.motion import LID_GAZE_COUPLING

    # Lids follow the lowered gaze of sadness (motion.lids_follow_gaze): the sampled sad face droops its lids.
    down = sad.curve("eyeLookDownLeft")
    assert down.mean() > 0.2 and np.all(sad.curve("eyeBlinkLeft") >= LID_GAZE_COUPLING * down - 1e-6)
    assert sad.curve("eyeBlinkLeft").mean() > happy.curve("eyeBlinkLeft").mean() + 0.1
