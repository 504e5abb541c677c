import pytest

from rag.answer.citations import parse_markers, strip_markers


@pytest.mark.parametrize(
    "text, expected",
    [
        ("No markers.", []),
        ("One [1].", [1]),
        ("Two [1, 3].", [1, 3]),
        ("Adjacent [1][3].", [1, 3]),
        ("Range [1-2].", [1, 2]),
        ("En dash range [2–4].", [2, 3, 4]),
        ("Mixed [3] then [1, 2-3] and [3].", [3, 1, 2]),
        ("Not citations [a] [ ] [1.5].", []),
        ("Absurd range [1-99999]", [1, 99999]),
    ],
)
def test_parse_markers(text, expected):
    assert parse_markers(text) == expected


def test_strip_markers():
    assert strip_markers("Trump held a call [1]. It lasted [2, 3]") == "Trump held a call. It lasted"
    assert strip_markers("A  [1] b.") == "A b."
