"""The README's quick start runs as written."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_quick_start_runs(capsys):
    if not README.exists():
        pytest.skip("README.md is not next to the tests")
    text = README.read_text()
    section = text.split("## Quick start", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code, "README quick start", "exec"), {})
    out = capsys.readouterr().out
    assert "['mean', 'width', 'mean^2', 'mean*width', 'width^2']" in out
    assert "(5, 5)" in out and "(5, 2)" in out
