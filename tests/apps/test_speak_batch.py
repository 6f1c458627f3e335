"""`emotive speak --batch`: reading rows (CSV / JSON Lines, defaults, one error naming the line), rendering with a
verdict per row into a manifest, resuming without redoing finished rows, and two processes under
`accelerate launch` splitting the rows and merging one manifest."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emotive.apps.commands._speak_batch import Row, read_rows
from emotive.conditioning import EmotiveError

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
EM = [sys.executable, "-m", "emotive.apps.cli", "speak"]


def test_rows_from_csv_and_jsonl(tmp_path):
    c = tmp_path / "a.csv"
    c.write_text('text,emotion,voice,name,seed\n"Hi, you.",happy,,hi,4\n[sad] Bye.,,jm_kumo,,\n')
    assert read_rows(str(c), "neutral", "jf_alpha", 9) == [Row("hi", "Hi, you.", "happy", "jf_alpha", 4),
                                                          Row("0002", "[sad] Bye.", "neutral", "jm_kumo", 9)]
    j = tmp_path / "a.jsonl"
    j.write_text('{"text": "One.", "seed": 3}\n\n{"text": "Two.", "name": "two", "emotion": "sad:0.5"}\n')
    assert read_rows(str(j), "calm", "nova", 0) == [Row("0001", "One.", "calm", "nova", 3),
                                                   Row("two", "Two.", "sad:0.5", "nova", 0)]


@pytest.mark.parametrize(("name", "content", "words"), [
    ("b.csv", "text,emtion\nHi.,happy\n", "unknown: emtion"),
    ("b.csv", "text,name\nHi.,x\nHo.,X\n", "line 3: the name 'X' is already used on line 2"),
    ("b.csv", "text,seed\nHi.,-1\n", "line 2: The seed must be"),
    ("b.csv", "text,name\nHi.,../up\n", "line 2: the name '../up'"),
    ("b.csv", "text\n\"  \"\n", "line 2: the text is empty"),
    ("b.jsonl", '{"text": "Hi."}\n{"txt": "x"}\n', "line 2: an object"),
    ("b.jsonl", "{oops\n", "line 1: not JSON"),
    ("b.txt", "Hi.\n", ".csv (with a header) or a .jsonl"),
])
def test_bad_batch_files_name_the_line(tmp_path, name, content, words):
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(EmotiveError, match=None) as e:
        read_rows(str(p), "neutral", "jf_alpha", 0)
    assert words in str(e.value) and "\n" not in str(e.value)


def _manifest(folder: Path) -> list[dict]:
    with open(folder / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_batch_renders_judges_and_resumes(tmp_path):
    lines = tmp_path / "lines.csv"
    lines.write_text('text,emotion,voice,name\n"Good morning, everyone.",happy,,morning\n[sad] It is over.,,jm_kumo,\n')
    out = tmp_path / "out"
    r = subprocess.run([*EM, "--batch", str(lines), "--out-dir", str(out)], capture_output=True, text=True,
                       timeout=600, env=ENV)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = _manifest(out)
    assert [m["name"] for m in rows] == ["morning", "0002"] and all(m["status"] == "ok" for m in rows)
    assert 1.0 <= float(rows[0]["mos"]) <= 5.0 and float(rows[0]["wer"]) <= 0.5 and rows[0]["heard"]
    assert sorted(p.name for p in out.iterdir()) == ["0002.json", "0002.wav", "manifest.csv", "morning.json",
                                                      "morning.wav"]
    # a killed run: one row's record is gone and a dead process's temporary file is left; the rerun redoes only it
    stamp = (out / "morning.wav").stat().st_mtime_ns
    (out / "0002.json").unlink()
    from emotive.conditioning.files import temp_name

    (out / temp_name(out / "0002.wav", pid=999_999_999)).write_bytes(b"half")
    r = subprocess.run([*EM, "--batch", str(lines), "--out-dir", str(out), "--no-verdict"], capture_output=True,
                       text=True, timeout=600, env=ENV)
    assert r.returncode == 0 and "rendered 1 line(s), skipped 1 already done" in r.stdout, r.stdout + r.stderr[-2000:]
    assert (out / "morning.wav").stat().st_mtime_ns == stamp
    assert sorted(p.name for p in out.iterdir()) == ["0002.json", "0002.wav", "manifest.csv", "morning.json",
                                                      "morning.wav"]


def test_a_bad_row_stops_the_batch_before_anything_is_written(tmp_path):
    lines = tmp_path / "lines.jsonl"
    lines.write_text('{"text": "Fine."}\n{"text": "Hello [hapy] there."}\n')
    r = subprocess.run([*EM, "--batch", str(lines), "--out-dir", str(tmp_path / "out")], capture_output=True,
                       text=True, timeout=300, env=ENV)
    assert r.returncode == 2 and "row 2 (0002): Malformed tag [hapy] at character 7" in r.stderr
    assert not (tmp_path / "out").exists()


def test_two_processes_under_accelerate_split_and_merge(tmp_path):
    lines = tmp_path / "lines.csv"
    lines.write_text("text\n" + "".join(f"Line number {i}.\n" for i in range(4)))
    out = tmp_path / "out"
    accelerate = Path(sys.executable).with_name("accelerate")
    cmd = [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "emotive.apps.cli", "speak", "--batch",
           str(lines), "--out-dir", str(out), "--no-verdict"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=ENV)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = _manifest(out)
    assert [m["name"] for m in rows] == ["0001", "0002", "0003", "0004"]
    assert [m["process"] for m in rows] == ["0", "1", "0", "1"] and all(m["status"] == "ok" for m in rows)
