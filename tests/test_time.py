"""rag.time: time words resolved against a fixed as_of, table-driven; recency, staleness, the as_of forms."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from rag.time import as_of_date, human_date, recency, resolve, stale_notice, window, without_time
from rag.types import TimeScope

AS_OF = date(2022, 6, 16)  # a Thursday, as RealTime QA's quiz of 17 June 2022 was asked
D = date.fromisoformat

# (question, [(expression, from, to) or (expression, "recent")]) — every phrase the resolver must read
RESOLVED = [
    ("What happened today?", [("today", D("2022-06-16"), D("2022-06-16"))]),
    ("Who spoke yesterday?", [("yesterday", D("2022-06-15"), D("2022-06-15"))]),
    ("Which show was green lit this week?", [("this week", D("2022-06-09"), D("2022-06-16"))]),
    ("What did the senators agree on in the past week?", [("in the past week", D("2022-06-09"), D("2022-06-16"))]),
    ("What happened last week in Kyiv?", [("last week", D("2022-06-02"), D("2022-06-08"))]),  # the 7 days before
    ("Who won this weekend?", [("this weekend", D("2022-06-11"), D("2022-06-12"))]),  # the one just past
    ("Who won last weekend?", [("last weekend", D("2022-06-11"), D("2022-06-12"))]),
    ("What happened over the weekend?", [("over the weekend", D("2022-06-11"), D("2022-06-12"))]),
    ("What happened in the last year?", [("in the last year", D("2021-06-16"), D("2022-06-16"))]),  # trailing
    ("What happened over the last month?", [("over the last month", D("2022-05-16"), D("2022-06-16"))]),
    ("What happened this month?", [("this month", D("2022-06-01"), D("2022-06-16"))]),
    ("What happened last month?", [("last month", D("2022-05-01"), D("2022-05-31"))]),
    ("How did prices move this year?", [("this year", D("2022-01-01"), D("2022-06-16"))]),
    ("Who won the league last year?", [("last year", D("2021-01-01"), D("2021-12-31"))]),
    ("Who resigned in May?", [("in May", D("2022-05-01"), D("2022-05-31"))]),
    ("What was announced in August?", [("in August", D("2021-08-01"), D("2021-08-31"))]),  # the last August
    ("What happened in June?", [("in June", D("2022-06-01"), D("2022-06-16"))]),  # this month, up to as_of
    ("What changed in August 2024?", []),  # wholly after as_of: restricts nothing
    ("What happened in March 2021?", [("in March 2021", D("2021-03-01"), D("2021-03-31"))]),
    ("Who won the election in 2020?", [("in 2020", D("2020-01-01"), D("2020-12-31"))]),
    ("What did he say on 12 June?", [("on 12 June", D("2022-06-12"), D("2022-06-12"))]),
    ("What did he say on June 12, 2022?", [("on June 12, 2022", D("2022-06-12"), D("2022-06-12"))]),
    ("What was decided on 2022-06-10?", [("on 2022-06-10", D("2022-06-10"), D("2022-06-10"))]),
    ("What happened on Monday?", [("on Monday", D("2022-06-13"), D("2022-06-13"))]),
    ("How many cases since June?", [("since June", D("2022-06-01"), D("2022-06-16"))]),
    ("What changed after 3 March?", [("after 3 March", D("2022-03-04"), D("2022-06-16"))]),
    ("What was said before 1 May?", [("before 1 May", None, D("2022-04-30"))]),
    ("Who had spoken by 10 June?", [("by 10 June", None, D("2022-06-10"))]),
    ("Who met him before the summit on 15 June?", [("on 15 June", None, D("2022-06-14"))]),
    ("What happened in the past two weeks?", [("in the past two weeks", D("2022-06-02"), D("2022-06-16"))]),
    ("What happened over the last 3 days?", [("over the last 3 days", D("2022-06-13"), D("2022-06-16"))]),
    ("What did she say three days ago?", [("three days ago", D("2022-06-13"), D("2022-06-13"))]),
    ("What happened two months ago?", [("two months ago", D("2022-04-01"), D("2022-04-30"))]),
    ("What is the latest on the talks?", [("latest", "recent")]),
    ("Who is currently in charge?", [("currently", "recent")]),
    ("Is he still the chief negotiator?", [("still", "recent")]),
    ("What is the new plan?", [("new", "recent")]),
    ("Latest on the talks?", [("Latest", "recent")]),  # capitalised at the start: still the word
    ("Which show was recently green lit this week?",
     [("recently", "recent"), ("this week", D("2022-06-09"), D("2022-06-16"))]),
]

UNRESOLVED = [
    "Who is the mayor of New York?",          # a name, not "new"
    "New Zealand's prime minister said what?",
    "Who hosts the Today show?",              # capitalised inside the question: a name
    "What happened since the summit?",        # relative to an event, not a date
    "What did they agree after the war?",
    "Who won the 2020 election?",             # a year that is a name's part, not "in 2020"
    "May I ask who won?",                     # the verb, not the month
    "What did Theresa May say?",
    "Why did the workers march on the capital?",
    "What will happen in 2030?",              # after as_of
    "What is known about the plan?",          # "now" inside a word
    "How many people renewed their passes?",  # "new" inside a word
    "What happened in the last week of the trial?",  # a part of something, not a date
    "What did he do in his last year as mayor?",
    "Ridership grew by 2000 passengers, why?",       # a count, not a year
    "How were the repairs in 2000 homes paid for?",
    "What happened in “Lakeport ferry fares to rise in January”?",  # a quoted headline's words are its own
]


@pytest.mark.parametrize("question, expected", RESOLVED, ids=[q for q, _ in RESOLVED])
def test_time_words_resolve_against_as_of(question, expected):
    scopes = resolve(question, AS_OF)
    got = [(s.expression, "recent") if s.recent else (s.expression, s.date_from, s.date_to) for s in scopes]
    assert got == expected


@pytest.mark.parametrize("question", UNRESOLVED)
def test_names_events_and_future_dates_stay_unresolved(question):
    assert resolve(question, AS_OF) == []


def test_describe_says_what_was_resolved():
    week = resolve("What happened this week?", AS_OF)[0]
    assert week.describe() == '"this week" -> 2022-06-09..2022-06-16'
    assert resolve("latest news", AS_OF)[0].describe() == '"latest" -> newest first'
    assert resolve("before 1 May", AS_OF)[0].describe() == '"before 1 May" -> ..2022-04-30'


def test_window_is_the_intersection_of_ranged_scopes():
    scopes = resolve("What happened this month, and this week?", AS_OF)
    assert window(scopes) == (D("2022-06-09"), D("2022-06-16"))
    assert window([TimeScope(expression="latest", recent=True)]) is None
    assert window(resolve("in May 2022 and in June", AS_OF)) is None  # two periods: no empty range


def test_weekends_follow_the_calendar():
    saturday, sunday = D("2022-06-18"), D("2022-06-19")
    assert [(s.date_from, s.date_to) for s in resolve("this weekend, last weekend", saturday)] == [
        (saturday, saturday), (D("2022-06-11"), D("2022-06-12"))]
    assert [(s.date_from, s.date_to) for s in resolve("this weekend", sunday)] == [(saturday, sunday)]


def test_without_time_cuts_whole_words_only():
    question = "What did the snowstorm do to the new ferry this week?"
    assert without_time(question, resolve(question, AS_OF)) == "What did the snowstorm do to the ferry ?"
    assert without_time("this week", resolve("this week", AS_OF)) == "this week"  # nothing else left


def test_as_of_forms_and_errors():
    assert as_of_date("2022-06-16") == as_of_date("2022/06/16") == AS_OF
    assert as_of_date(datetime(2022, 6, 16, 23, 59)) == AS_OF
    assert as_of_date("2022-06-16T10:00") == AS_OF
    assert as_of_date(None) == date.today() or as_of_date(None) == date.today()  # today (twice: midnight)
    # typed into the page's picker, which only reads ISO: a written day with its year is read too
    assert as_of_date("16 June 2022") == as_of_date("June 16, 2022") == as_of_date("Thursday, 16th June 2022") == AS_OF
    for guess in ("next Tuesday", "2022-13-01", "16/06/2022", "June 2022", "2022", "16 June", "banana"):
        with pytest.raises(ValueError, match=r"YYYY-MM-DD \(2022-06-16\) or as a day with its month in words"):
            as_of_date(guess)


def test_recency_halves_each_half_life_and_leaves_undated_and_later_articles_alone():
    assert recency(AS_OF, AS_OF, 14) == 1.0
    assert recency(D("2022-06-02"), AS_OF, 14) == pytest.approx(0.5)
    assert recency(D("2022-05-19"), AS_OF, 14) == pytest.approx(0.25)
    assert recency(None, AS_OF, 14) is None
    assert recency(D("2022-06-17"), AS_OF, 14) is None


def test_stale_notice_names_the_newest_date_only_when_it_is_old():
    assert stale_notice(D("2025-03-03"), D("2025-06-01"), 30) == "The newest article quoted is from 3 March 2025."
    assert stale_notice(D("2025-05-10"), D("2025-06-01"), 30) is None
    assert stale_notice(None, D("2025-06-01"), 30) is None
    assert human_date(D("2025-09-14")) == "14 September 2025"
