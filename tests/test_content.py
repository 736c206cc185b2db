"""The shipped content validates, and broken content is reported with file and line."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import CONTENT_DIR
from bot.content import ContentError, load_content
from bot.content.languages import load_library
from bot.render import MESSAGE_LIMIT, graduation_text, lesson_text, split_message

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT_DIR)


LIBRARY = load_library(CONTENT_DIR)


def test_shipped_content_is_valid(content):
    assert [lesson.day for lesson in content.lessons] == [1, 2, 3, 4, 5, 6, 7]
    for lesson in content.lessons:
        assert lesson.checkin in content.checkin.entry_points


def test_every_text_placeholder_is_known():
    """Formatting every UI text, in every language, with the values the bot supplies must not raise KeyError."""
    values = dict(
        name="Alex",
        day=2,
        days=7,
        paused="",
        text="x",
        time="07:00",
        timezone="Europe/Berlin",
        local_now="06:00",
        next_day=3,
        when="tomorrow at 07:00",
        clock="07:00",
        seconds=30,
        safety="If something hurts, stop.",
        profile="Runner",
        next_lesson="",
        command="/x",
        advice="Keep the weight close",
        answer="Lower back",
        helped="yes",
        title="Your back took over",
        exercise="Romanian deadlift",
        sets=3,
        reps=12,
        weight="35 lb",
        example="/log rdl 35 3x12",
        current="35 lb",
        low="40 lb",
        high="45 lb",
        step="5-10 lb",
        clean=1,
        first="35 lb",
        last="45 lb",
        sessions=4,
        since="1 Jun",
        unit="lb",
        units="lb",
        date="8 Jun",
        defaults="",
        zones="Europe/Berlin, America/New_York",
        zone="Europe/Berlin",
        tally="🍑 Hamstrings and glutes 3",
        tip="That is the pattern you want: Keep going as planned.",
        count=3,
        label="🔻 Lower back",
        names="Kim, Lee",
        fix=1,
        red=0,
        link="https://t.me/HingeCoachBot?start=s1",
        bot="HingeCoachBot",
        # the lifter's tools: effort, records, plates, rest timer, CSV
        max_sets=20,
        max_reps=100,
        max_weight="500 kg",
        rpe="8.5",
        e1rm="123.3 kg",
        records="105 kg for 5 reps",
        volume="1,470 kg",
        total="142.5 kg",
        bar="20 kg",
        plates="25 + 25 + 10 + 1.25",
        target="143 kg",
        max_bar="30 kg",
        row=52,
        column="weight_kg",
        size="1,200 KB",
        max="1,000 KB",
        exercises="Deadlift, Romanian deadlift",
        languages="en (English), es (Español)",
        day_seconds=20,  # the demo's banner
        url="http://127.0.0.1:8080/app",
        enrolled=4,  # the operators' report
        active=2,
        finished=1,
        logging=3,
        counts="  1 /   2 /   1",
        share=" 50%",
        clean_next=1,
        followed=2,
        rate="50%",
    )
    for language in LIBRARY.contents.values():
        for _field, text in language.texts:
            text.format(**values)


@pytest.mark.parametrize("profile", ["runner", "lifter", "both"])
def test_every_lesson_renders_within_telegram_limits(content, profile):
    for lesson in content.lessons:
        chunks = split_message(lesson_text(content, lesson, profile))
        assert all(len(chunk) <= MESSAGE_LIMIT for chunk in chunks)
        assert lesson.title in chunks[0]
    assert "Weeks 2-3" in graduation_text(content)


def test_runner_notes_only_for_runners(content):
    lesson = content.lesson(1)
    assert lesson.notes.runner and lesson.notes.lifter
    assert lesson.notes.lifter not in lesson_text(content, lesson, "runner")
    assert lesson.notes.runner in lesson_text(content, lesson, "runner")


def test_split_message_keeps_paragraphs_whole():
    text = "\n\n".join(f"paragraph {i} " + "x" * 1000 for i in range(10))
    chunks = split_message(text)
    assert len(chunks) == 3
    assert all(len(c) <= MESSAGE_LIMIT for c in chunks)
    assert "".join(chunks).count("paragraph") == 10
    assert split_message("y" * 9000) == ["y" * 4096, "y" * 4096, "y" * 808]
    one_long_paragraph = "\n".join(f"line {i:03d} " + "z" * 90 for i in range(100))
    parts = split_message(one_long_paragraph)
    assert len(parts) == 3 and all(len(p) <= MESSAGE_LIMIT for p in parts)
    assert "\n".join(parts) == one_long_paragraph, "split only at line breaks, nothing lost"


def _broken_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    path = target / file
    text = path.read_text()
    assert old in text, f"fixture edit needs {old!r} in {file}"
    path.write_text(text.replace(old, new, 1))
    return target


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_a_lesson_naming_a_missing_drill_is_reported_with_file_and_line(tmp_path):
    root = _broken_copy(tmp_path, "lessons/day-2.yaml", "drill: dowel-hinge", "drill: dowl-hinge")
    with pytest.raises(ContentError) as caught:
        load_content(root)
    [problem] = caught.value.problems
    assert problem.file == root / "lessons/day-2.yaml"
    assert problem.line == _line_of(problem.file, "drill: dowl-hinge")
    assert "unknown drill 'dowl-hinge'" in problem.message


def test_a_checkin_option_naming_a_missing_node_is_reported(tmp_path):
    root = _broken_copy(tmp_path, "checkin.yaml", "next: lower-back-why", "next: lower-back-wyh")
    with pytest.raises(ContentError) as caught:
        load_content(root)
    messages = [str(p) for p in caught.value.problems]
    line = _line_of(root / "checkin.yaml", "lower-back-wyh")
    assert f"checkin.yaml:{line}: unknown node 'lower-back-wyh'" in "\n".join(messages)


def test_a_missing_field_and_bad_html_are_both_reported(tmp_path):
    root = _broken_copy(tmp_path, "drills.yaml", "name: Wall tap", "nam: Wall tap")
    path = root / "cues.yaml"
    path.write_text(path.read_text().replace("why: ", "why: <script>x</script> ", 1))
    with pytest.raises(ContentError) as caught:
        load_content(root)
    text = str(caught.value)
    assert "drills.yaml" in text and "name: Field required" in text
    assert "cues.yaml" in text and "only <b>, <i>, <u> and <code> tags" in text


def test_invalid_yaml_is_reported_with_its_line(tmp_path):
    root = _broken_copy(tmp_path, "course.yaml", "title:", "title: [unclosed")
    with pytest.raises(ContentError) as caught:
        load_content(root)
    assert "course.yaml" in str(caught.value) and "not valid YAML" in str(caught.value)


def test_content_check_command_exit_codes(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "bot", "content", "check"], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    root = _broken_copy(tmp_path, "lessons/day-4.yaml", "drill: kb-rdl", "drill: kettlebell")
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "content", "check", str(root)], capture_output=True, text=True, cwd=ROOT
    )
    assert bad.returncode == 1
    assert f"day-4.yaml:{_line_of(root / 'lessons/day-4.yaml', 'drill: kettlebell')}: " in bad.stdout


def test_the_pure_core_knows_nothing_of_telegram_or_the_database():
    for path in (ROOT / "bot" / "domain").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            for name in names:
                assert not name.startswith(("telegram", "sqlmodel", "sqlalchemy", "bot.storage")), f"{path}: {name}"


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return names


def test_no_handler_imports_another_and_storage_knows_no_handler_or_service():
    """Handlers read the update, call a service and pick the reply: shared logic lives in
    bot/services (or the helpers of handlers/common.py), never in another handler module."""
    handlers = {path.stem for path in (ROOT / "bot" / "handlers").glob("*.py")} - {"__init__", "common"}
    for path in (ROOT / "bot" / "handlers").glob("*.py"):
        if path.stem == "__init__":  # the composition of the handlers: it may import them all
            continue
        for name in _imports(path):
            assert name.removeprefix("bot.handlers.") not in handlers or name == "bot.handlers", f"{path}: {name}"
    for path in (ROOT / "bot" / "storage").rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith(("bot.handlers", "bot.services", "telegram")), f"{path}: {name}"


def test_handlers_reach_storage_only_through_services():
    """A handler reads the update, calls one service method and picks the reply: it never imports
    bot.storage (nor does bot/logbook.py, the handlers' shared rendering) nor opens a session on
    `services.db`. The services own the sessions and return plain values."""
    paths = [*(ROOT / "bot" / "handlers").glob("*.py"), ROOT / "bot" / "logbook.py"]
    for path in paths:
        for name in _imports(path):
            assert name != "bot.storage" and not name.startswith("bot.storage."), f"{path}: {name}"
        assert "services.db" not in path.read_text(), f"{path} opens a session itself"


def test_content_is_written_in_our_own_words():
    checker = ROOT.parent / "shared" / "tools" / "copycheck.py"
    if not checker.exists():
        pytest.skip("../shared/tools/copycheck.py is not beside this checkout")
    result = subprocess.run([sys.executable, str(checker), str(ROOT / "content")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_checkin_diagram_beside_the_code_is_current(content):
    """docs/checkin-tree.mmd is generated by `coach content tree`; regenerate it after editing the tree."""
    from bot.content.diagram import mermaid

    assert (ROOT / "docs" / "checkin-tree.mmd").read_text() == mermaid(content.checkin)


def test_content_tree_command_draws_every_question_and_advice(content):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "content", "tree", "--outline"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0
    for advice in content.checkin.advice:
        assert advice.title in result.stdout
