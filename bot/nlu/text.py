"""Borrower text made comparable: one normal form for catalogs and messages alike.

The rules are tables, one per need of a script rather than per language: letters typed in several forms
(Arabic alef and hamza, taa marbuta, alef maqsura; Vietnamese đ), marks that do not change a word (Latin and
Vietnamese accents, Arabic harakat, the Devanagari nukta), digits of every script, scripts written without
spaces (Chinese: read as overlapping pairs of characters), word endings that vary with politeness (Korean)
and prefixes glued to a word (Arabic "al-", "wa-al-").
"""

from __future__ import annotations

import re
import unicodedata

MAX_INPUT_CHARS = 1_000
MAX_TOKENS = 40

# Apostrophes join what they separate ("don't" -> "dont", "j'ai" -> "jai"): that is how people text them.
_APOSTROPHES = re.compile("['\u2018\u2019\u201b\u02bc\u0060\u00b4]")
# Marks that do not change a word: Latin, Greek, Cyrillic and Vietnamese accents (after NFKD), the Devanagari
# nukta (क़ and क are typed interchangeably), Arabic harakat and the hamza signs NFKD splits off (أ -> ا + ٔ).
_ACCENTS = re.compile("[\u0300-\u036f\u093c\u064b-\u065f\u0670]")
# Letters typed in more than one form, each to the one form: Vietnamese đ (no decomposition) is d; Arabic
# alef wasla is alef, taa marbuta is haa (ة and ه are typed interchangeably at the end of a word), alef
# maqsura is yaa, Persian-keyboard yaa and kaf are Arabic's, tatweel (a stretching stroke) is nothing;
# chandrabindu is anusvara; and the decimal digits of every script the bot reads are ASCII digits.
_DIGITS = "\u0660\u06f0\u0966\u09e6\u0e50"  # the zero of Arabic-Indic, Persian, Devanagari, Bengali and Thai
_LETTERS = str.maketrans(
    {
        "\u0111": "d", "\u0671": "\u0627", "\u0629": "\u0647", "\u0649": "\u064a", "\u06cc": "\u064a",
        "\u06a9": "\u0643", "\u0640": None, "\u0901": "\u0902",
        **{chr(ord(zero) + n): str(n) for zero in _DIGITS for n in range(10)},
    }
)  # fmt: skip
# Anything that is not a letter, a digit or a Devanagari sign separates words; dandas and underscores too.
_SEPARATORS = re.compile(r"[^\w\u0900-\u0963\u0966-\u097f]+|_+")
# Runs of one letter ("holaaaa", "pleeease", "good") become one letter, on both sides of every comparison.
_REPEATS = re.compile(r"([^\W\d_])\1+")
_DEVANAGARI = re.compile("[\u0900-\u097f]")
# Scripts written without spaces between words: Chinese (CJK ideographs). Runs of them are cut into
# overlapping pairs ("我想还款" -> "我想 想还 还款"): every word of two or more characters is then a run
# of consecutive pairs, wherever the message puts it.
_UNSPACED = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNSPACED_RUN = re.compile(f"[{_UNSPACED}]+")
# Chinese as texted: the particles that end a sentence or soften it (吗, 呢, 吧, 啊...) say nothing of what is
# asked and only make pairs that are the edges of two words ("了吗", "吗我"): they go; colloquial characters
# (啥, 咋) are the common ones (什么, 怎么). The aspect particle 了 and the measure words 个, 份, 张 go too (a
# measure word in one catalog line made it a telling word of that intent; 还了 and 还 ask the same thing here).
_UNSPACED_LETTERS = str.maketrans({"啥": "什么", "咋": "怎么", **dict.fromkeys("吗呢吧啊呀嘛啦哦噢呗了个份张", None)})
_UNSPACED_PAIR = re.compile(f"^[{_UNSPACED}]{{1,2}}$")
# Endings that vary with politeness, not meaning, at the end of a word (Korean: 알려주세요, 알려줘요 and
# 알려주십시오 are all 알려주), longest first, each to what it is replaced with; then the particles that
# mark a word's role (잔액이, 잔액은, 잔액을: 잔액). Applied to words of two or more syllables, leaving one.
_ENDINGS = {
    "습니까": "", "습니다": "", "합니다": "하", "합니까": "하", "됩니다": "되", "됩니까": "되", "입니다": "",
    "입니까": "", "십시오": "", "으세요": "", "하세요": "하", "해주세요": "하주", "주세요": "주", "세요": "",
    "해요": "하", "돼요": "되", "되요": "되", "줘요": "주", "이에요": "", "예요": "", "에요": "", "어요": "",
    "아요": "", "했어": "했", "나요": "", "까요": "", "가요": "", "네요": "", "지요": "", "죠": "", "니다": "",
    "니까": "", "요": "", "해": "하", "줘": "주", "돼": "되",
    # joining one clause to the next (이미 냈는데, 연체됐다고, 들어오면, 아파서): the clause's verb is what it says
    "는데": "", "은데": "", "다고": "", "지만": "", "해서": "하", "어서": "", "아서": "", "으면": "", "면": "",
    # as texted: 안녕하세여, 감사함다, 감사합니당
    "세여": "", "에여": "", "해여": "하", "여": "", "함다": "하", "슴다": "", "합니당": "하", "니당": "",
}  # fmt: skip
_PARTICLES = ("에서", "에게", "으로", "까지", "부터", "이랑", "이", "가", "은", "는", "을", "를", "에", "의",
              "도", "로", "와", "과", "랑", "께", "좀")  # fmt: skip
_HANGUL = "\uac00-\ud7a3"
# The verbs that make a verb of a noun (납부했, 청구됐, 확인 부탁드려, 입금할게: "did", "was done", "please" and "will"
# after a Sino-Korean noun) are set apart from it once the endings are cut, so 납부했 and 납부하 are both the noun
# 납부 and a verb that weighs little. After two syllables at least, at the end of a word.
_VERBAL_STEMS = ("했", "됐", "드려", "드립", "드리", "할게", "하", "되", "해야", "하려고", "할", "한", "된")


def _suffixes(table: dict[str, str] | tuple[str, ...]) -> re.Pattern[str]:
    """Return the pattern of word endings of a table, longest first, after at least one syllable."""
    endings = "|".join(sorted(table, key=len, reverse=True))
    return re.compile(f"(?<=[{_HANGUL}])({endings})(?= |$)")


_ENDING = _suffixes(_ENDINGS)
_VERBAL = re.compile(f"(?<=[{_HANGUL}]{{2}})({'|'.join(sorted(_VERBAL_STEMS, key=len, reverse=True))})(?= |$)")
_PARTICLE = _suffixes(_PARTICLES)
# Prefixes glued to an Arabic word: the article and the conjunctions and prepositions before it
# (الرصيد, والرصيد, بالرصيد: رصيد), when at least two letters are left; للرصيد is made الرصيد first (_TO_THE).
_GLUED = re.compile("(?<!\\S)(?:وال|بال|فال|كال|ال)(?=[\u0621-\u064a]{2})")
# Scripts whose words carry endings glued on (Korean verb endings and particles, Arabic pronoun suffixes): an
# unknown word there reads as the longest known word it begins with, of at least this many letters.
_GLUED_ENDINGS = ((re.compile(f"^[{_HANGUL}]+$"), 2), (re.compile("^[\u0621-\u064a]+$"), 3))
# Letters glued before a word that are words of their own (Arabic و "and", ف "so", ب "with", ل "for": ومش is و مش,
# بقسط is ب قسط), and the endings glued after it (Arabic pronouns and verb persons: اتحسبوا and اتحسبت are both
# اتحسب + an ending). An unknown word reads as the catalog word left when a prefix is taken away, or as a catalog
# word with the same root form (the word less one ending, at least this many letters left).
_GLUED_AFFIXES = (
    (re.compile("^[\u0621-\u064a]+$"), ("\u0648", "\u0641", "\u0628", "\u0644"),
     ("\u0648\u0627", "\u0648\u0646", "\u064a\u0646", "\u0627\u062a", "\u0647\u0627", "\u0647\u0645",
      "\u0643\u0645", "\u0646\u0627", "\u062a\u0645", "\u0646\u064a", "\u062a", "\u064a", "\u0643",
      "\u0647", "\u0627"), 3),
)  # fmt: skip
# Scripts whose short words are one letter from many others: Arabic is written without its short vowels, so a
# four-letter word (تسوي, "you do") is one edit from another word (تسويه, "settlement"). Typos are corrected in
# words of at least this many letters there (4 elsewhere).
_SHORTEST_TYPO = ((re.compile("^[\u0621-\u064a]+$"), 5),)
# Function words that differ from one Arabic dialect to the next (Egyptian, Gulf, Levantine, Modern Standard),
# each to one form, so a catalog line in one dialect stands for the same question in the others: "want" (عايز,
# ابغى, بدي, اريد), "why" (ليه, ليش, لماذا), "how much" (كام, قديش, كم), "when", "where", "what", "how", "this",
# "now", "not" and "money", Maghrebi ones too (بغيت، علاش، شحال، فوقاش، دابا، هادي). Keys are normal forms (ى is
# ي, ة is ه); applied before the article is cut.
_DIALECT_WORDS = {
    word: canonical
    for canonical, words in (
        ("اريد", "عايز عاوز عايزه عاوزه ابغي ابغا ابي ابا بدي حابب بغيت نبغي ودي"),
        ("لماذا", "ليه ليش ليشو لماذا علاش علاه"),
        ("كم", "كام قديش قداش بكام بكم كم شحال شقد اشكد"),
        ("متي", "امتي متي ايمتي وقتيش امتا ايمتا وقتاش فوقاش"),
        ("اين", "فين وين اين فاين"),
        ("ماذا", "ايه ايش شو وش شنو ماذا اشنو"),
        ("كيف", "ازاي كيف كيفاش شلون اشلون"),
        ("هذا", "ده دي هذا هذه هذي هاد هادا هيدا هيدي هادي"),
        ("دلوقتي", "الان دلوقتي دلوقت الحين هلق هسه دابا دروك دركا"),
        ("مش", "مش مو مب"),
        ("فلوس", "فلوس مصاري"),
    )
    for word in words.split()
}
# Words that folding would merge with another: Levantine هلأ ("now", also هلّأ) loses its hamza and becomes هلا
# ("hello"); it is written هلق, its other spelling, before anything is folded.
_BEFORE_FOLDING = re.compile("(?<![\u0621-\u064a])\u0647\u0644\u0651?[\u0623\u0621](?![\u0621-\u064a])")
_SCRIPTS = {
    "hi": re.compile("[\u0900-\u097f]"),
    "zh_CN": re.compile(f"[{_UNSPACED}]"),
    "ko": re.compile(f"[{_HANGUL}\u1100-\u11ff\u3130-\u318f]"),
    "ar": re.compile("[\u0600-\u06ff\u0750-\u077f]"),
}


def normalise(text: str) -> str:
    """Return the text lower-cased, without accents, punctuation, repeated letters or extra spaces."""
    text = text[:MAX_INPUT_CHARS]
    if text.isascii():  # most texts: nothing to decompose, fold or recompose
        return _words(_APOSTROPHES.sub("", text.lower()))
    if "\u0647\u0644" in text:  # هل: the start of هلأ
        text = _BEFORE_FOLDING.sub("\u0647\u0644\u0642", text)
    text = unicodedata.normalize("NFKD", text).casefold()
    text = _APOSTROPHES.sub("", _ACCENTS.sub("", text)).translate(_LETTERS)
    if _JAMO.search(text):
        text = unicodedata.normalize("NFC", text)  # Hangul syllables NFKD took apart, whole again
    return _words(text)


def _words(text: str) -> str:
    """Return the words of a folded text: separators and repeats squeezed, each script's rules applied."""
    text = _SEPARATORS.sub(" ", text)
    if "\u0644\u0644" in text:  # Arabic لل (ل "to" + the article) is not a letter repeated
        text = _TO_THE.sub("\u0627\u0644", text)
    text = _REPEATS.sub(r"\1", text)
    if not text.isascii():
        if _UNSPACED_RUN.search(text):
            text = _UNSPACED_RUN.sub(_pairs, text)
        if _HANGUL_PRESENT.search(text):
            text = _VERBAL.sub(r" \1", _PARTICLE.sub("", _ENDING.sub(_ending, text)))
        if _ARABIC_PRESENT.search(text):
            text = _GLUED.sub("", " ".join(_dialect_word(word) for word in text.split()))
    return " ".join(text.split()[:MAX_TOKENS])


_HANGUL_PRESENT = re.compile(f"[{_HANGUL}]")
# Arabic ل ("to, for") glued to the article: للمحكمة is ل + المحكمة; it reads as the article, which goes, rather
# than as a doubled letter squeezed to one (لمحكمه, a word no catalog has).
_TO_THE = re.compile("(?<!\\S)\u0644\u0644(?=[\u0621-\u064a]{2})")
_GLUED_CONJUNCTIONS = "\u0648\u0641"  # و "and", ف "so"
_JAMO = re.compile("[\u1100-\u11ff]")
_ARABIC_PRESENT = re.compile("[\u0621-\u064a]")


def _dialect_word(word: str) -> str:
    """Return a dialect's function word as its one form, also with "and" or "so" glued before it (وليش: لماذا)."""
    canonical = _DIALECT_WORDS.get(word)
    if canonical is None and len(word) > 2 and word[0] in _GLUED_CONJUNCTIONS:
        canonical = _DIALECT_WORDS.get(word[1:])
    return canonical or word


def _pairs(run: re.Match[str]) -> str:
    """Return a run of unspaced characters as its overlapping pairs, set apart by spaces."""
    characters = run.group().translate(_UNSPACED_LETTERS)
    if not characters:
        return " "
    grams = [characters[0]]
    for i in range(1, len(characters)):
        grams += [characters[i - 1 : i + 1], characters[i]]
    return " " + " ".join(grams) + " "


def _ending(match: re.Match[str]) -> str:
    return _ENDINGS[match.group(1)]


def is_unspaced_pair(word: str) -> bool:
    """Return whether a normalised word is a pair of characters of a script written without spaces."""
    return _UNSPACED_PAIR.match(word) is not None


def shortest_stem(word: str) -> int | None:
    """Return the shortest stem a word of a script that glues endings may be read as, or None for other scripts."""
    for script, shortest in _GLUED_ENDINGS:
        if script.match(word):
            return shortest
    return None


def unglued(word: str) -> tuple[str, ...]:
    """Return the readings of a word without the one-letter word glued before it (Arabic ومش: مش), if any."""
    for script, prefixes, _endings, _shortest in _GLUED_AFFIXES:
        if script.match(word):
            return tuple(word[1:] for prefix in prefixes if word.startswith(prefix) and len(word) > 2)
    return ()


def root_form(word: str) -> str | None:
    """Return a word less its longest glued ending, leaving enough letters (Arabic اتحسبوا: اتحسب), or None."""
    for script, _prefixes, endings, shortest in _GLUED_AFFIXES:
        if script.match(word):
            for ending in endings:  # longest first
                if word.endswith(ending) and len(word) - len(ending) >= shortest:
                    return word[: -len(ending)]
            return None
    return None


def shortest_typo(word: str, default: int) -> int:
    """Return the fewest letters a word of this script needs for a typo in it to be corrected."""
    for script, shortest in _SHORTEST_TYPO:
        if script.match(word):
            return shortest
    return default


def is_devanagari(text: str) -> bool:
    """Return whether the text contains Devanagari script (Hindi written natively)."""
    return _DEVANAGARI.search(text) is not None


def script_locale(text: str) -> str | None:
    """Return the locale a script belongs to when only one language the bot reads is written in it, else None."""
    for locale, script in _SCRIPTS.items():
        if script.search(text):
            return locale
    return None
