"""run_tool: a training or export tool's mistake is one line on stderr and a non-zero exit."""

from __future__ import annotations

import errno

from srlive.errors import ModelError, UserError
from srlive_training.tool import run_tool


def test_the_work_s_code_or_0():
    assert run_tool("t", lambda: 3) == 3 and run_tool("t", lambda: None) == 0


def test_a_user_error_is_one_line_after_the_tools_name(capsys):
    def work():
        raise ModelError("m.onnx: not a model;\n  re-export it")

    assert run_tool("srlive-x", work) == UserError.exit_code == 2
    err = capsys.readouterr().err
    assert err == "srlive-x: m.onnx: not a model; re-export it\n"


def test_an_os_error_names_the_file(capsys):
    def work():
        raise PermissionError(errno.EACCES, "Permission denied", "/x/out.png")

    assert run_tool("t", work) == 2
    assert capsys.readouterr().err == "t: Permission denied: /x/out.png\n"
    assert run_tool("t", work, writing="out.png") == 2
    assert capsys.readouterr().err == "t: cannot write out.png: Permission denied\n"
