"""The operator CLI's offline verbs: what an operator reads when a mapping is wrong."""

import json

from zwa.main import main


def test_validate_offline_accepts_the_example_mapping_and_says_zoho_was_not_asked(capsys):
    assert main(["--stage", "local", "mapping", "validate", "--offline",
                 "examples/mappings/example.json"]) == 0
    assert capsys.readouterr().out == (
        "mapping example is valid in shape (1 rule); not checked against Zoho's field "
        "metadata (--offline)\n")


def test_validate_lists_every_problem_and_exits_non_zero(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"source": "shop", "rules": [
        {"name": "r", "module": "Contacts", "record": {"id": "id"},
         "fields": {"Seats": {"path": "n", "type": "int"}, "Email": {"path": "e["}}}]}))
    assert main(["--stage", "local", "mapping", "validate", "--offline", str(path)]) == 2
    err = capsys.readouterr().err
    assert "the mapping is invalid (2 problems)" in err
    assert "rules[0].fields.Seats.type: unknown type 'int'" in err
    assert "rules[0].fields.Email.path:" in err


def test_a_file_that_is_not_json_is_one_clear_line(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text("{")
    assert main(["--stage", "local", "mapping", "validate", "--offline", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("zwa: ") and "is not valid JSON" in err
    assert len(err.splitlines()) == 1


def test_an_unknown_stage_is_refused(capsys):
    try:
        main(["--stage", "nosuch", "mapping", "list"])
    except SystemExit as exc:
        assert "unknown stage 'nosuch'" in str(exc)
    else:
        raise AssertionError("an unknown stage must not pass")
