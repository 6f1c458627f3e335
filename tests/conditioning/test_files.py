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
