"""`telederm triage assess`: the vignettes through the command, and bad input refused."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

VIGNETTES = sorted((Path(__file__).parent / "vignettes").glob("*.json"))


def assess(*args: str, stdin: str | None = None) -> dict[str, object]:
    out = io.StringIO()
    call_command("triage", "assess", *args, stdout=out, stdin=io.StringIO(stdin) if stdin else None)
    result: dict[str, object] = json.loads(out.getvalue())
    return result


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda path: path.stem)
def test_vignette_through_the_command(path: Path) -> None:
    vignette = json.loads(path.read_text(encoding="utf-8"))
    result = assess("-", stdin=json.dumps(vignette["answers"]))
    expected = vignette["expected"]
    assert result["disposition"] == expected["disposition"]
    assert result["priority"] == expected["priority"]
    assert result["flags"] == expected["flags"]
    reasons = result["reasons"]
    assert isinstance(reasons, list)
    assert [reason["rule"] for reason in reasons] == expected["rules"]


def test_a_file_is_read_and_reasons_come_in_the_chosen_language(tmp_path: Path) -> None:
    vignette = json.loads((VIGNETTES[0].parent / "em-anaphylaxis.json").read_text())
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(vignette["answers"]))
    english = assess(str(path))
    norwegian = assess(str(path), "--language", "nb")
    assert english["call"] == "113"
    assert "Call 113 now" in json.dumps(english["reasons"])
    assert "Ring 113 nå" in json.dumps(norwegian["reasons"], ensure_ascii=False)


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("{not json", "is not valid JSON"),
        (
            '{"format": "telederm-triage-answers/1", "age_years": 3, "answers": {"x": 1}}',
            "unknown question 'x'",
        ),
        ("[]", "the answers must be a JSON object"),
    ],
)
def test_bad_input_is_an_error_with_nothing_on_stdout(stdin: str, message: str) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("triage", "assess", "-", stdout=out, stdin=io.StringIO(stdin))
    assert caught.value.returncode == 2
    assert message in str(caught.value)
    assert out.getvalue() == ""


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("triage", "assess", str(tmp_path / "nowhere.json"))
    assert caught.value.returncode == 2


def test_a_bad_rule_file_is_an_error(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('version = "x"\n[[rule]]\nid = "A"\n')
    with pytest.raises(CommandError) as caught:
        assess("-", "--rules", str(rules), stdin='{"format": "telederm-triage-answers/1"}')
    assert "invalid" in str(caught.value)


def test_the_real_command_exits_2_and_writes_only_to_stderr() -> None:
    # The exit status and streams as a shell script sees them.
    done = subprocess.run(
        [sys.executable, "-m", "telederm", "triage", "assess", "-"],
        input='{"format": "telederm-triage-answers/1", "age_years": "old", "answers": {}}',
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "'age_years' must be a whole number" in done.stderr


def test_the_real_command_prints_json_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "telederm", "triage", "assess", str(VIGNETTES[0])],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    # A vignette file wraps its answers, so as a whole it is not an answer document.
    assert done.returncode == 2
    assert "unknown top-level field 'description'" in done.stderr


DOC = Path(__file__).resolve().parents[3] / "docs" / "triage-assess.md"


def test_the_documented_example_prints_what_the_doc_shows() -> None:
    # Tested docs: the first two JSON blocks are the example answers and their result.
    blocks = DOC.read_text(encoding="utf-8").split("```json\n")[1:3]
    answers, shown = (json.loads(block.split("```")[0]) for block in blocks)
    assert assess("-", stdin=json.dumps(answers)) == shown


def test_every_question_is_in_the_doc() -> None:
    from telederm.triage.questions import QUESTIONS

    text = DOC.read_text(encoding="utf-8")
    assert [q.id for q in QUESTIONS if f"| `{q.id}` |" not in text] == []
