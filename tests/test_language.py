"""Questions not in English: desk English stays English, other languages are named, and the
reply says the bot reads English, with the English command the names in the question match."""

from __future__ import annotations

import re
import statistics
import time
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers import language
from handlers.language import detector, foreign, foreign_reply, suggestions, warm_up
from store.queries import Store
from store.vocabulary import english

CORPUS = Path(__file__).parent / "corpus"

# Desk questions as typed: the `ask` strings of tests/corpus/{questions,heldout,fresh,unseen}.toml
# (typos, shorthand, romanised names), the hardest first (words English rarely uses, which the
# detector alone reads as Malay or Tagalog), then the issue's own examples.
ENGLISH = [
    "hong kong member?",
    "lee ji-yoon?",
    "guo jiakun?",
    "lee xi call",
    "casy mace title",
    "rusia in apec?",
    "casy mace role",
    "lee jiyoon who",
    "taiwn in apec",
    "mongolia apec membr",
    "ruth pery title",
    "lee ji-yoon who",
    "apec leaders mtg 2026 where",
    "where is the leaders meeting hapening",
    "what did lee raise w xi",
    "wher is som3",
    "when were the som2 committee and working group mtgs",
    "when was som2 in shangai",
    "som1 dates",
    "2025 host?",
    "how many evnets in china year",
    "who is guo jiakan",
    "when's som3",
    "who led the korean deligation at SOM1",
    "SOM3 city",
    "date of the lee-xi phone call",
    "is inida in apec",
    "has som1 hapened yet",
    "apec decision making",
    "is the uk in apek",
    "apec theme 2026",
    "putrajya vision?",
    "who led us delagation som1",
    "Korea bilaterals SOM1",
    "bogor target yrs",
    "nxt som",
    "summit announcement?",
    "peru member",
    "where is the frist SOM",
    "wen is the next SOM",
    "who did park jong han meet bilaterally",
    "what are the bogar goals",
    "does apec vote on stuff",
    "apec?",
    "what is the aoteroa plan of action",
    "is ruth pery on the us deligation",
    "how many sectoral ministerals",
    "what is a senoir officials meeting",
    "us objectives som1",
    "summit this yr when",
    "2025 summit host",
    "what did lee and xi disscuss on the phone",
    "SOM1 dates?",
    "bmc?",
    "USG del?",
    "apec 2026 ldrs mtg shenzhen",
    "wat does SCE stnad for",
    "png member?",
    "Guangzhou SOM",
    "Lee Ji-yoon",
    "Xi Jinping",
    "SOM2",
    "Budget and Management Committee",
    "",
    "   ",
    "2026",
    "who's heading the USG team in guangzhou",
    "AMM dates?",
    "what cmte meetings did the korean del join at som1",
    "did the BMC approve the 2026 budget at its feb 9 meeting?",
    # A name or a phrase in another language, in an English question.
    "who is Nguyễn Minh Vũ?",
    "what does 'Juntos por el futuro' mean?",
    "who is 이지윤?",
    "what does 高官会 mean",
    "who’s leading the USG team",
]

# Written for these tests, short and long, with the desk's English names and acronyms inside.
FOREIGN = [
    ("다음 SOM 언제야?", "Korean"),
    ("2026년 APEC 정상회의는 언제 어디서 열리나요?", "Korean"),
    ("미국 대표단 단장은 누구야?", "Korean"),
    ("BMC 의장이 누구예요?", "Korean"),
    ("SOM2는 어디서 열려?", "Korean"),
    ("SOM2 어디?", "Korean"),
    ("APEC 회원국 목록 보여줘", "Korean"),
    ("第三次高官会在哪里举行？", "Chinese"),
    ("下一次SOM会议是什么时候？", "Chinese"),
    ("美国代表团团长是谁？", "Chinese"),
    ("2026年APEC领导人会议在哪里举行？", "Chinese"),
    ("BMC是什么？", "Chinese"),
    ("SOM1の日程を教えてください", "Japanese"),
    ("次の高級実務者会合はいつですか？", "Japanese"),
    ("米国代表団の団長は誰ですか", "Japanese"),
    ("BMCの議長は誰？", "Japanese"),
    ("Hội nghị thượng đỉnh APEC 2026 diễn ra ở đâu?", "Vietnamese"),
    ("SOM2 diễn ra khi nào?", "Vietnamese"),
    ("Ai dẫn đầu phái đoàn Hoa Kỳ tại Quảng Châu?", "Vietnamese"),
    ("Ai là trưởng đoàn Mỹ?", "Vietnamese"),
    ("การประชุม SOM ครั้งต่อไปจัดขึ้นเมื่อไหร่", "Thai"),
    ("ใครเป็นหัวหน้าคณะผู้แทนสหรัฐฯ", "Thai"),
    ("Kapan pertemuan SOM berikutnya?", "Indonesian"),
    ("Siapa yang memimpin delegasi AS di Guangzhou?", "Indonesian"),
    ("Di mana KTT APEC 2026 diadakan?", "Indonesian"),
    ("Berapa anggota APEC?", "Indonesian"),
    ("Siapa ketua delegasi Amerika Serikat?", "Indonesian"),
    ("Bilakah mesyuarat SOM seterusnya?", "Malay"),
    ("¿Cuándo es la cumbre de líderes de APEC 2026?", "Spanish"),
    ("¿Quién encabeza la delegación de EE. UU.?", "Spanish"),
    ("¿Dónde se celebra la SOM2?", "Spanish"),
    ("cuando es la proxima reunion de la APEC", "Spanish"),
    ("¿Quién preside el BMC?", "Spanish"),
    ("quien encabeza la delegacion de estados unidos", "Spanish"),
    ("¿Cuántas economías son miembros de APEC?", "Spanish"),
    ("Qui a dirigé la délégation américaine à Guangzhou ?", "French"),
    ("Quand a lieu la prochaine réunion des hauts fonctionnaires ?", "French"),
    ("Où se tient le SOM2 ?", "French"),
    ("Quelle est la date du SOM3 ?", "French"),
    ("Combien d'économies sont membres de l'APEC ?", "French"),
    ("Wer leitet den Haushaltsausschuss (BMC)?", "German"),
    ("Wann ist das nächste SOM-Treffen?", "German"),
    ("Wo findet der APEC-Gipfel 2026 statt?", "German"),
    ("Wann beginnt SOM2?", "German"),
    ("Ist Taiwan Mitglied der APEC?", "German"),
    ("Когда следующая встреча SOM?", "Russian"),
    ("Кто возглавляет делегацию США?", "Russian"),
    ("Где пройдёт саммит АТЭС в 2026 году?", "Russian"),
    ("Quando é a próxima reunião do SOM?", "Portuguese"),
    ("Quem lidera a delegação dos EUA?", "Portuguese"),
    ("Kailan ang susunod na pulong ng SOM?", "Tagalog"),
    ("Sino ang namumuno sa delegasyon ng US?", "Tagalog"),
]


def corpus_asks() -> list[str]:
    """Every English question of the four corpora this module reads (their `ask` strings only)."""
    asks: dict[str, None] = {}
    for name in ("questions", "heldout", "fresh", "unseen"):
        data = tomllib.loads((CORPUS / f"{name}.toml").read_text(encoding="utf-8"))
        for family in data.get("family", []):
            for case in family.get("case", []):
                if case.get("way") != "language":  # a case asked in another language on purpose
                    asks[case["ask"]] = None
    return list(asks)


def names_the(language: str, found: str | None) -> bool:
    """`found` names `language` ("Malay or Indonesian" names both: they share most words)."""
    return found is not None and language in found.split(" or ")


@pytest.mark.parametrize("text", ENGLISH)
def test_desk_english_is_not_foreign(text: str) -> None:
    assert foreign(text) is None


def test_no_question_of_the_corpora_is_foreign() -> None:
    asks = corpus_asks()
    assert len(asks) > 500
    assert [(a, found) for a in asks if (found := foreign(a))] == []


@pytest.mark.parametrize(("text", "language"), FOREIGN)
def test_other_languages_are_named(text: str, language: str) -> None:
    assert names_the(language, foreign(text))


def test_the_tables_are_as_large_as_the_issue_asks() -> None:
    assert len(ENGLISH) >= 60 and len(FOREIGN) >= 30
    asked = {"Korean", "Chinese", "Japanese", "Vietnamese", "Thai", "Indonesian", "Spanish"}
    asked |= {"French", "German", "Russian"}
    assert asked <= {language for _, language in FOREIGN}


def test_indonesian_and_malay_are_both_named_when_the_detector_is_torn() -> None:
    assert foreign("Siapa yang memimpin delegasi AS di Guangzhou?") in (
        "Malay or Indonesian",
        "Indonesian or Malay",
    )
    assert foreign("Bilakah mesyuarat SOM seterusnya?") == "Malay"


@pytest.mark.parametrize(
    ("text", "script"),
    [("متى الاجتماع القادم؟", "Arabic"), ("ការប្រជុំបន្ទាប់នៅពេលណា", "Khmer")],
)
def test_a_script_no_language_here_writes_is_named_by_its_script(text: str, script: str) -> None:
    assert foreign(text) == script


def test_one_detector_per_process() -> None:
    assert detector() is detector()


# -- the reply ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "commands"),
    [
        ("다음 SOM 언제야?", ["next-meeting som"]),
        ("SOM1の日程を教えてください", ["meeting SOM1"]),
        ("Wer leitet den Haushaltsausschuss (BMC)?", ["meeting BMC1"]),
        ("Sino ang namumuno sa delegasyon ng US?", ["member US", "delegation US"]),
        ("2026년 APEC 정상회의는 언제 어디서 열리나요?", ["meetings 2026"]),
        ("¿Quién encabeza la delegación de EE. UU. en la SOM1?", ["meeting SOM1"]),
        ("Sino ang namumuno sa delegasyon ng US sa SOM1?", ["delegation US SOM1", "meeting SOM1"]),
        ("이지윤 씨는 누구예요? Lee Ji-yoon", ["who Lee Ji-yoon"]),
        # Nothing the store knows by name: no command, and no translation guessed.
        ("美国代表团团长是谁？", []),
        ("Кто возглавляет делегацию США?", []),
    ],
)
def test_the_commands_suggested_match_the_names_carried(
    store: Store, text: str, commands: list[str]
) -> None:
    assert suggestions(store, text) == commands


def test_the_reply_says_english_for_now_and_the_command(store: Store) -> None:
    card = foreign_reply(store, "다음 SOM 언제야?", "Korean")
    assert card.plain() == (
        "I read questions in English for now (this looks like Korean). "
        "Try `/apec next-meeting som`."
    )
    assert len(card.blocks) == 1


def test_the_reply_names_two_commands_with_or(store: Store) -> None:
    card = foreign_reply(store, "Ist Taiwan Mitglied der APEC?", "German")
    assert card.plain().endswith("Try `/apec member Taiwan` or `/apec delegation Taiwan`.")


def test_the_reply_without_a_matching_command_is_the_plain_line(store: Store) -> None:
    card = foreign_reply(store, "美国代表团团长是谁？", "Chinese")
    assert card.plain() == "I read questions in English for now (this looks like Chinese)."


def test_the_reply_never_repeats_the_question(store: Store) -> None:
    text = "<!channel> 下一次SOM会议是什么时候？ <https://evil.example|点击>"
    payload = foreign_reply(store, text, "Chinese").payload()
    shown = payload["text"] + str(payload["blocks"])
    assert "channel" not in shown and "evil" not in shown and "点击" not in shown
    assert "`/apec next-meeting som`" in payload["text"]


# -- cost ----------------------------------------------------------------------------------------


def test_foreign_costs_well_under_a_millisecond(reports: list[str]) -> None:
    warm_up()
    texts = ENGLISH + [t for t, _ in FOREIGN]
    for text in texts:  # the models for Latin letters load on first need: not timed here
        foreign(text)
    times = []
    for _ in range(5):
        for text in texts:
            start = time.perf_counter()
            foreign(text)
            times.append(time.perf_counter() - start)
    times.sort()
    p50 = statistics.median(times) * 1000
    p99 = times[int(len(times) * 0.99)] * 1000
    reports.append(
        f"language: foreign() over {len(texts)} questions: p50 {p50:.3f} ms, p99 {p99:.3f} ms"
    )
    assert p50 < 1.0


# Latin (ASCII and not), Japanese, Chinese, Cyrillic, Korean, and what sits between words
_MIXED = "aZ09 -'?\u00e9\u01a1SOM1\u3067\u4e2d\u0416\ud55c"


@given(st.text(alphabet=st.sampled_from(_MIXED), max_size=24))
def test_latin_letters_and_digits_are_set_apart_from_another_script_exactly_where_they_touch(
    text: str,
) -> None:
    # The definition, character by character: a space wherever an ASCII letter or digit and a
    # letter of a script other than Latin meet (the fast way for ASCII text must agree).
    def touching(a: str, b: str) -> bool:
        return a.isascii() and a.isalnum() and b.isalpha() and not language._latin(b)

    spaced = "".join(
        (" " if i and (touching(text[i - 1], c) or touching(c, text[i - 1])) else "") + c
        for i, c in enumerate(text)
    )
    assert language._spaced(text) == spaced


# -- the word checks against their first, plainer writing ------------------------------------------
# The checks run on every word of every question; these are how they were first written (a regular
# expression for each apostrophe test, every letter looked at), kept here to hold the faster ones
# to exactly the same answers.


def _acronym_as_written(part: str) -> bool:
    if any(c.isdigit() for c in part):
        return True
    letters = re.sub(r"['’]", "", part)
    return len(letters) >= 2 and letters.isascii() and letters.isupper()


def _latin_as_written(word: str) -> bool:
    return all(ord(c) < 0x250 or 0x1E00 <= ord(c) < 0x1F00 or not c.isalpha() for c in word)


def _english_as_written(word: str) -> bool:
    counts = english()
    for part in word.lower().split("-"):
        pieces = re.split(r"['’]", part)
        head = pieces[0] if all(p in language.CLITICS for p in pieces[1:]) else max(pieces, key=len)
        if counts.get(head, 0) >= language.OFTEN.get(len(head), language.OFTEN_LONGER):
            return True
    return False


WORDISH = st.text(alphabet=st.sampled_from(list("aeiostAESTHwhoQqz'’-12é中ßİıſKǅ")), max_size=12)


@given(st.one_of(WORDISH, st.text(max_size=12)))
def test_the_word_checks_answer_as_first_written(word):
    assert language._acronym(word) == _acronym_as_written(word)
    assert language._latin(word) == _latin_as_written(word)
    assert language._english(word) == _english_as_written(word)


@pytest.mark.parametrize(
    "word",
    [
        "who's",
        "isn't",
        "follow-up",
        "SOM",
        "SOM2",
        "O'Neil",
        "US’",
        "l'été",
        "Mitglied",
        "don’t",
        "rock'n'roll",
        "-",
        "'",
        "Ænima",
        "Việt",
        "США",
        "ſ",
        "K",
    ],
)
def test_the_word_checks_answer_as_first_written_on_words_that_matter(word):
    assert language._acronym(word) == _acronym_as_written(word)
    assert language._latin(word) == _latin_as_written(word)
    assert language._english(word) == _english_as_written(word)
