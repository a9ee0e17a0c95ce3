"""The README's promises: its code example runs, its Quick start matches what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_solver_example_runs_and_gives_figure1_g(capsys):
    block = re.search(r"```python\n(.*?)```", README, flags=re.DOTALL).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    plan = namespace["result"].plan
    published_row_4 = torch.tensor([0.748, 0.224, 0.028], dtype=torch.float64)
    assert torch.allclose(plan[3], published_row_4, atol=0.005)
    assert namespace["again"].converged
    assert namespace["result"].method in capsys.readouterr().out


def test_quick_start_has_two_commands_and_ci_runs_the_same_test_command():
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.search(r"```bash\n(.*?)```", quick_start, flags=re.DOTALL).group(1)
    lines = [line.split("#")[0].strip() for line in commands.strip().splitlines()]
    assert len(lines) == 2
    assert "streamlit run app.py" in lines[0]
    test_command = lines[1].split("&&")[-1].strip()
    ci_script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci_script.splitlines()
