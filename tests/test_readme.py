"""The README's code examples run as written."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_blocks():
    if not README.exists():
        return []
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


@pytest.mark.parametrize("index", range(len(readme_blocks())))
def test_readme_example_runs(index, capsys):
    exec(compile(readme_blocks()[index], f"README example {index}", "exec"), {})
    assert capsys.readouterr().out.strip()


def test_quick_start_prints_terms_and_shapes(capsys):
    exec(compile(readme_blocks()[0], "README quick start", "exec"), {})
    out = capsys.readouterr().out
    assert "['mean', 'width', 'mean^2', 'mean*width', 'width^2']" in out
    assert "(5, 5)" in out and "(5, 2)" in out
