"""Safe output files: atomic writes, no overwrite without asking, no special files replaced."""

from __future__ import annotations

import os
import stat

import pytest

from emotive.conditioning import EmotiveError
from emotive.conditioning.files import OutputExistsError, atomic_output, check_output


def test_written_whole_and_not_overwritten_without_asking(tmp_path):
    out = tmp_path / "a.txt"
    with atomic_output(out) as tmp:
        tmp.write_text("first")
    assert out.read_text() == "first"
    with pytest.raises(OutputExistsError, match="already exists"), atomic_output(out) as tmp:
        tmp.write_text("second")
    assert out.read_text() == "first"
    with atomic_output(out, overwrite=True) as tmp:
        tmp.write_text("second")
    assert out.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary file left


def test_nothing_is_left_when_writing_fails(tmp_path):
    out = tmp_path / "b.txt"
    with pytest.raises(RuntimeError), atomic_output(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("the encoder died")
    assert list(tmp_path.iterdir()) == []


def test_permissions_follow_the_umask_or_the_replaced_file(tmp_path):
    old = os.umask(0o022)
    try:
        new = tmp_path / "new.txt"
        with atomic_output(new) as tmp:
            tmp.write_text("x")
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        kept = tmp_path / "kept.txt"
        kept.write_text("old")
        kept.chmod(0o640)
        with atomic_output(kept, overwrite=True) as tmp:
            tmp.write_text("y")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "y"
    finally:
        os.umask(old)


def test_special_files_are_refused_even_with_force(tmp_path):
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)
    with pytest.raises(EmotiveError, match="not a regular file"):
        check_output(fifo, overwrite=True)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    with pytest.raises(EmotiveError, match="not a regular file"):
        check_output("/dev/null", overwrite=True)


def test_a_symlink_is_followed_and_kept(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with atomic_output(link, overwrite=True) as tmp:
        tmp.write_text("new")
    assert link.is_symlink() and target.read_text() == "new"


def test_suffixes_and_folders(tmp_path):
    with pytest.raises(EmotiveError, match=r"ending in \.wav"):
        check_output(tmp_path / "a.txt", suffixes=(".wav",))
    assert check_output(tmp_path / "A.WAV", suffixes=(".wav",)).name == "A.WAV"
    with pytest.raises(EmotiveError, match="does not exist"):
        check_output(tmp_path / "nodir" / "a.wav")
    with pytest.raises(EmotiveError, match="directory"):
        check_output(tmp_path)


# ------------------------------------------------------------------ all or none, full disk, leftovers
import errno  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from emotive.conditioning.files import (  # noqa: E402
    STALE_AGE_S,
    DiskFullError,
    atomic_outputs,
    host_tag,
    sweep_stale_temps,
    temp_name,
)


def test_a_set_of_files_is_written_all_or_none(tmp_path):
    outs = [tmp_path / "song.mid", tmp_path / "song.wav", tmp_path / "roll.png"]
    with pytest.raises(RuntimeError), atomic_outputs(outs) as tmps:
        tmps[0].write_bytes(b"midi")
        tmps[1].write_bytes(b"wav")
        raise RuntimeError("the PNG writer died")
    assert list(tmp_path.iterdir()) == []
    with atomic_outputs(outs) as tmps:
        for t in tmps:
            t.write_bytes(b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roll.png", "song.mid", "song.wav"]
    with pytest.raises(EmotiveError, match="named twice"), atomic_outputs([tmp_path / "a.wav", tmp_path / "a.wav"]):
        pass


def test_an_empty_member_of_a_set_keeps_the_whole_set_out(tmp_path):
    outs = [tmp_path / "a.mp4", tmp_path / "a.csv"]
    with pytest.raises(EmotiveError, match="Nothing was written"), atomic_outputs(outs) as tmps:
        tmps[0].write_bytes(b"video")  # the CSV stays empty
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_one_clear_error_and_leaves_nothing(tmp_path):
    with pytest.raises(DiskFullError, match="No space left on the disk") as info, \
            atomic_outputs([tmp_path / "a.mid", tmp_path / "a.wav"]) as tmps:
        tmps[0].write_bytes(b"midi")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert isinstance(info.value, EmotiveError) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_write_failure_on_a_nearly_full_disk_is_reported_as_full(tmp_path, monkeypatch):
    """libsndfile says "System error." when the disk fills up: the free space tells."""
    from emotive.conditioning import files

    monkeypatch.setattr(files, "free_bytes", lambda folder: 4096)
    with pytest.raises(DiskFullError), files.atomic_output(tmp_path / "s.wav") as tmp:
        tmp.write_bytes(b"RIFF")
        raise RuntimeError("System error.")
    monkeypatch.setattr(files, "free_bytes", lambda folder: 10 * 2**30)
    with pytest.raises(RuntimeError, match="System error"), files.atomic_output(tmp_path / "s.wav") as tmp:
        raise RuntimeError("System error.")
    assert list(tmp_path.iterdir()) == []


KILLED_WRITER = """
import os, sys
from emotive.conditioning.files import atomic_output
with atomic_output(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half a file")
    os.kill(os.getpid(), 9)
"""


def test_kill_9_leftovers_are_swept_by_the_next_write(tmp_path):
    out = tmp_path / "s.wav"
    r = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(out)], timeout=60)
    assert r.returncode == -9
    left = [p for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].name.startswith(".s.wav.emotive-") and not out.exists()
    alive = tmp_path / temp_name(out)  # this process's: still being written
    alive.write_bytes(b"x")
    other = "0000" if host_tag() != "0000" else "1111"  # another machine's file: its pid means nothing here
    other_host = tmp_path / left[0].name.replace(f"emotive-{host_tag()}-", f"emotive-{other}-", 1)
    legacy_new = tmp_path / ".s.wav.ab12cd34.wav"  # a mkstemp leftover of an older version, fresh
    legacy_old = tmp_path / ".t.wav.zz12cd34.wav"
    unrelated = tmp_path / ".hidden.wav"
    for p in (other_host, legacy_new, legacy_old, unrelated):
        p.write_bytes(b"x")
    old = time.time() - STALE_AGE_S - 60
    os.utime(legacy_old, (old, old))
    with atomic_output(out) as tmp:
        tmp.write_bytes(b"whole")
    assert out.read_bytes() == b"whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [out.name, alive.name, other_host.name, legacy_new.name, unrelated.name])
    os.utime(alive, (old, old))  # a day old: abandoned whoever made it
    assert sweep_stale_temps(tmp_path) == [alive]
