import json

import numpy as np
import pytest
import soundfile as sf

from emotive.generators.speech.readers import CorpusLayoutError, write_manifest


def _wav(path, sr=16000):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(0.5 * sr)) / sr
    sf.write(path, 0.1 * np.sin(2 * np.pi * 150 * t), sr)


def _rows(p):
    return [json.loads(ln) for ln in p.read_text().splitlines()]


def test_esd(tmp_path):
    root = tmp_path / "ESD"
    (root / "0011").mkdir(parents=True)
    (root / "0011" / "0011.txt").write_text("0011_000001\tThe cat sat.\tNeutral\n0011_000351\tI am so glad!\tHappy\n")
    _wav(root / "0011/Neutral/train/0011_000001.wav")
    _wav(root / "0011/Happy/test/0011_000351.wav")
    rows = _rows(write_manifest("esd", root, tmp_path / "out"))
    by = {r["id"]: r for r in rows}
    assert by["esd_0011_000351"]["emotion"]["label"] == "happy" and by["esd_0011_000351"]["split"] == "test"
    assert by["esd_0011_000001"]["text"] == "The cat sat." and by["esd_0011_000001"]["phonemes"][:2] == ["DH", "AH"]
    assert (tmp_path / "out" / by["esd_0011_000001"]["wav"]).exists()


def test_ravdess(tmp_path):
    root = tmp_path / "rav"
    _wav(root / "Actor_01/03-01-05-02-01-01-01.wav")  # angry, strong, "Kids ..."
    _wav(root / "Actor_24/03-01-04-01-02-01-24.wav")  # sad, normal, "Dogs ..."
    _wav(root / "Actor_24/03-02-04-01-02-01-24.wav")  # song: skipped
    rows = {r["id"]: r for r in _rows(write_manifest("ravdess", root, tmp_path / "o"))}
    assert len(rows) == 2
    a, s = rows["ravdess_03-01-05-02-01-01-01"], rows["ravdess_03-01-04-01-02-01-24"]
    assert a["emotion"]["label"] == "angry" and a["emotion"]["intensity"] == 1.0 and a["split"] == "train"
    assert s["emotion"]["label"] == "sad" and s["emotion"]["intensity"] == 0.6 and s["split"] == "test"
    assert s["text"].startswith("Dogs")


def test_emovdb(tmp_path):
    root = tmp_path / "emov"
    (root).mkdir()
    (root / "cmuarctic.data").write_text('( arctic_a0001 "Author of the danger trail." )\n')
    _wav(root / "bea_Amused/amused_1-15_0001.wav")
    _wav(root / "sam_Sleepy/sleepy_1-28_0002.wav")
    rows = {r["id"]: r for r in _rows(write_manifest("emovdb", root, tmp_path / "o"))}
    assert rows["emovdb_bea_amused_0001"]["emotion"]["label"] == "happy"
    assert rows["emovdb_bea_amused_0001"]["text"] == "Author of the danger trail."
    assert rows["emovdb_sam_sleepy_0002"]["emotion"]["label"] == "calm"


def test_wrong_layout(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(CorpusLayoutError):
        write_manifest("ravdess", tmp_path / "x", tmp_path / "o")
