"""The reader is ready for other languages: the lexicon is data per language, a lexicon may name a
Snowball stemmer so base words match inflected forms, words in any script are read, and
`coach content check` validates every lexicons/<lang>.yaml present. The Spanish and Russian
lexicons here are tiny test fixtures, not the product's."""

import shutil
from pathlib import Path

import pytest
import yaml

from bot.app import CONTENT_DIR
from bot.content import ContentError, load_content
from bot.content.models import Lexicon
from bot.domain.reader import Outcome, Reader, Readers, decide
from bot.domain.translit import is_romanized, to_cyrillic
from tests.test_content import _line_of

FIXTURES = Path(__file__).resolve().parent / "data" / "lexicons"
CONTENT = load_content(CONTENT_DIR)


def _fixture(language: str) -> Lexicon:
    return Lexicon.model_validate(yaml.safe_load((FIXTURES / f"{language}.yaml").read_text(encoding="utf-8")))


READERS = Readers({**CONTENT.lexicons, "es": _fixture("es"), "ru": _fixture("ru")})


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("es", "hormigueos en las piernas", Outcome.RED_FLAG),  # "hormigueo" listed, plural read
        ("es-MX", "me duelen los glúteos", Outcome.SAFETY_QUESTION),  # a region code, a verb form
        ("es", "Los gluteos trabajaron mucho", "hams-glutes"),  # typed without the accent
        ("es", "sin hormigueo, los glúteos trabajaron", "hams-glutes"),  # negation in Spanish
        ("ru", "покалывание в ноге", Outcome.RED_FLAG),  # Cyrillic, a case ending on "нога"
        ("ru", "ягодицами работал", "hams-glutes"),
        ("ru", "нет онемения, ягодицы работали", "hams-glutes"),
        ("ru", "онемела нога", Outcome.RED_FLAG),
    ],
)
def test_a_stemmed_lexicon_matches_inflected_forms_of_its_base_words(language, text, expected):
    assert decide(READERS.for_language(language).read(text), "felt-where").outcome == expected


def test_a_language_without_a_lexicon_is_read_in_english():
    assert READERS.for_language("fr").lexicon.language == "en"
    assert READERS.for_language(None).lexicon.language == "en"
    assert READERS.for_language("es_ES") is READERS.for_language("es")  # built once


def test_words_in_any_script_keep_their_letters():
    reader = READERS.for_language("ru")
    assert reader.read("Ягодицы работали, всё хорошо").words[:2] == ("ягодицы", "работали")
    assert READERS.for_language("es").read("niño, año").words[:3] == ("nino", ",", "ano")


def test_english_has_no_stemmer_and_reads_as_before():
    assert CONTENT.lexicons["en"].stemmer is None


def _with_lexicon(tmp_path: Path, language: str, text: str) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root)
    (root / "lexicons" / f"{language}.yaml").write_text(text, encoding="utf-8")
    return root


def test_content_check_validates_every_lexicon_present(tmp_path):
    root = _with_lexicon(tmp_path, "es", (FIXTURES / "es.yaml").read_text(encoding="utf-8"))
    assert {"en", "es"} <= set(load_content(root).lexicons)  # beside whichever languages content/ ships


def test_an_unknown_stemmer_is_reported_with_file_and_line(tmp_path):
    text = (FIXTURES / "es.yaml").read_text(encoding="utf-8").replace("stemmer: spanish", "stemmer: klingon")
    root = _with_lexicon(tmp_path, "es", text)
    with pytest.raises(ContentError) as caught:
        load_content(root)
    line = _line_of(root / "lexicons/es.yaml", "stemmer: klingon")
    assert f"es.yaml:{line}" in str(caught.value) and "unknown stemmer 'klingon'" in str(caught.value)


def test_two_meanings_of_one_stem_are_reported(tmp_path):
    text = (FIXTURES / "es.yaml").read_text(encoding="utf-8").replace("numb: [entumecido]", "numb: [hormigueos]")
    root = _with_lexicon(tmp_path, "es", text)
    with pytest.raises(ContentError) as caught:
        load_content(root)
    assert "'hormigueos' (read as 'hormigueo') is under both sensations.tingling and sensations.numb" in str(
        caught.value
    )


SHIPPED = Readers(CONTENT.lexicons)  # the product's lexicons, every language shipped


@pytest.mark.parametrize(
    ("language", "question", "text", "expected"),
    [
        # pain said to travel along the body
        ("es", "felt-where", "un dolor que baja desde la lumbar hasta detrás de la rodilla", Outcome.RED_FLAG),
        ("es", "felt-where", "dolor que va desde la cadera hasta el gemelo", Outcome.RED_FLAG),
        ("ru", "felt-where", "боль шла от поясницы вниз до колена", Outcome.RED_FLAG),
        ("ru", "felt-where", "боль отдаёт в ягодицу и вниз по ноге", Outcome.RED_FLAG),
        # severity told by a reaction
        ("es", "felt-where", "se me saltaron las lágrimas al levantarme", Outcome.RED_FLAG),
        ("es", "felt-where", "no pude terminar la serie por el dolor", Outcome.RED_FLAG),
        ("ru", "felt-where", "аж слёзы из глаз, когда встал", Outcome.RED_FLAG),
        ("ru", "felt-where", "я закричал, когда наклонился за гирей", Outcome.RED_FLAG),
        # a leading no answers the pain-check; a sign after it is still a sign
        ("es", "pain-check", "no, todo bien esta mañana", Outcome.NO_RED_FLAG),
        ("es", "pain-check", "no, solo unas agujetas", Outcome.NO_RED_FLAG),
        ("es", "pain-check", "no, pero ahora tengo la pierna entumecida", Outcome.RED_FLAG),
        ("ru", "pain-check", "нет, просто немного ноет", Outcome.NO_RED_FLAG),
        ("ru", "pain-check", "нет, но сейчас немеет нога", Outcome.RED_FLAG),
        # inability from the lexicon: "no puedo", "не могу" never deny severe pain
        ("es", "felt-where", "no puedo caminar del dolor", Outcome.RED_FLAG),
        ("ru", "felt-where", "не могу встать с кровати", Outcome.RED_FLAG),
        # the side named after the part
        ("es", "felt-where", "la pierna izquierda se quedó débil", Outcome.RED_FLAG),
        # scores out of ten in every language's words
        ("es", "felt-where", "dolor 8 de 10 en la lumbar", Outcome.RED_FLAG),
        ("ru", "felt-where", "боль 8 из 10 в пояснице", Outcome.RED_FLAG),
        ("ru", "felt-where", "боль в спине восемь из десяти", Outcome.RED_FLAG),
        ("en", "felt-where", "back pain 8/10", Outcome.RED_FLAG),
        # repeated emoji are words of their own; a letter symbol ("ё") stays inside its word
        ("es", "felt-where", "los glúteos 🔥🔥", "hams-glutes"),
        ("ru", "felt-where", "ягодицы 🔥🔥", "hams-glutes"),
        ("ru", "felt-where", "спина не болит, всё в хамстрингах", "hams-glutes"),
        # the lower-back-why question: another part named gets its answer, "mostly" beats "both"
        ("es", "lower-back-why", "era más la espalda alta", "upper-back"),
        ("es", "lower-back-why", "las dos, pero sobre todo se me redondeó la espalda", "rounded"),
        ("ru", "lower-back-why", "скорее шея", "neck"),
        ("ru", "lower-back-why", "оба, но больше всего спина округлялась", "rounded"),
        # blind-D classes: signs asked and answered, figurative numbness, vertebra levels, tenderness
        # to the touch, a cramp that will not let go
        ("es", "felt-where", "¿hormigueo? no. ¿pinchazos? tampoco. isquios cansados", "hams-glutes"),
        ("es", "felt-where", "se me quedó el cerebro entumecido de contar, glúteos a tope", "hams-glutes"),
        ("es", "felt-where", "noté la L4 hacer clac al subir", Outcome.RED_FLAG),
        ("es", "felt-where", "el glúteo me duele al presionar", Outcome.RED_FLAG),
        ("es", "felt-where", "el gemelo se hizo un nudo y no se soltaba", Outcome.RED_FLAG),
        ("ru", "felt-where", "покалывание? нет. онемение? нет. ягодицы горят", "hams-glutes"),
        ("ru", "felt-where", "мозги онемели считать повторы, а бицепс бедра работал", "hams-glutes"),
        ("ru", "felt-where", "в районе L5 что-то хрустнуло", Outcome.RED_FLAG),
        ("ru", "felt-where", "ягодицу больно трогать", Outcome.RED_FLAG),
    ],
)
def test_every_shipped_language_reads_the_same_classes(language, question, text, expected):
    assert decide(SHIPPED.for_language(language).read(text), question).outcome == expected


def test_a_stemmed_lexicon_adds_no_plural_s_to_its_stems():
    """A stemmer already reads every number of a word; dropping a final "s" from the stem of
    "persa" ("pers") would make it match "pero" ("per")."""
    lexicon = CONTENT.lexicons["es"]
    regions = {**lexicon.regions, "hams": [*lexicon.regions["hams"], "persa"]}
    reader = Readers({"en": CONTENT.lexicons["en"], "es": lexicon.model_copy(update={"regions": regions})})
    assert [m.id for m in reader.for_language("es").read("pero").mentions] == []
    assert [m.id for m in reader.for_language("es").read("persas").mentions] == ["hams"]


PRODUCT = Readers(CONTENT.lexicons)

# Issue 14: the shipped Russian and Spanish lexicons hear the two classes of red flag the Russian
# reader missed, pain that will not go away and severity told by what the person could barely do,
# in wordings other than the corpora's, while everyday soreness and "barely made the bus" stay calm.
PERSISTING = [
    ("ru", "боль не проходит"),
    ("ru", "поясница никак не отпускает"),
    ("ru", "до сих пор болит бедро"),
    ("ru", "всё ещё болит спина"),
    ("ru", "болит с прошлой тренировки"),
    ("ru", "третий день болит поясница"),
    ("ru", "со вчера не отпускает"),
    ("ru", "так и не прошло"),
    ("ru", "боль никуда не делась"),
    ("ru", "спина болит не первый день"),
    ("ru", "ноет и ноет, не унимается"),
    ("es", "no se me pasa"),
    ("es", "el dolor no se quita"),
    ("es", "sigue doliendo la lumbar"),
    ("es", "todavía me duele la espalda"),
    ("es", "desde el último entreno me duele"),
    ("es", "lleva tres días doliendo"),
    ("es", "no se me ha quitado la molestia de la rodilla"),
]
BARELY = [
    ("ru", "еле вылез из машины"),
    ("ru", "еле встал"),
    ("ru", "еле дошёл до дома"),
    ("ru", "с трудом разогнулся"),
    ("ru", "не мог нагнуться"),
    ("ru", "до туалета ползком"),
    ("ru", "не смог надеть носки"),
    ("ru", "утром еле поднялся"),
    ("ru", "с трудом хожу"),
    ("ru", "еле передвигаюсь"),
    ("ru", "встал с трудом"),
    ("ru", "едва дошла до кровати"),
    ("ru", "еле ковыляю"),
    ("es", "apenas pude salir del coche"),
    ("es", "apenas pude salir del carro"),
    ("es", "me costó levantarme de la cama"),
    ("es", "no podía ni agacharme"),
    ("es", "casi no podía caminar"),
    ("es", "no pude atarme los zapatos"),
    ("es", "salí del auto con mucho trabajo"),
    ("es", "a duras penas me levanté"),
]
CALM = [
    ("ru", "крепатура", Outcome.ASK),
    ("ru", "забились ягодицы", "hams-glutes"),
    ("ru", "еле успел на автобус, ягодицы работали", "hams-glutes"),
    ("ru", "с трудом нашла зал, попа горит", "hams-glutes"),
    ("ru", "бицуха забилась, второй день крепатура", "hams-glutes"),
    ("ru", "боли не было, ягодицы работали", "hams-glutes"),
    ("es", "agujetas en los glúteos", "hams-glutes"),
    ("es", "apenas tuve tiempo, glúteos cansados", "hams-glutes"),
    ("es", "no pude levantar más peso, glúteos cansados", "hams-glutes"),
    ("es", "me costó levantarme temprano, pero los glúteos trabajaron", "hams-glutes"),
    ("es", "llegué a casa con dificultad por el tráfico, isquios bien", "hams-glutes"),
]


@pytest.mark.parametrize("question", ["felt-where", "lower-back-why", "felt-where-single-leg"])
@pytest.mark.parametrize(("language", "text"), PERSISTING + BARELY)
def test_lasting_pain_and_what_the_person_could_barely_do_reach_the_safety_answer(language, text, question):
    assert decide(PRODUCT.for_language(language).read(text), question).outcome == Outcome.RED_FLAG


@pytest.mark.parametrize(("language", "text", "expected"), CALM)
def test_everyday_soreness_and_everyday_hurry_stay_calm(language, text, expected):
    """The rules' hardship words: the screen behind them may still ask the pain-check question
    ("llegué a casa con dificultad" is one the Spanish screen asks about), never raise an alarm."""
    rules = PRODUCT.for_language(language).lexicon.model_copy(update={"screen": None})
    assert decide(Reader(rules).read(text), "felt-where").outcome == expected
    assert decide(PRODUCT.for_language(language).read(text), "felt-where").outcome != Outcome.RED_FLAG


# Issue 14, second batch: each class a Russian or Spanish coach hears as a red flag, in wordings no
# corpus file holds: Russian typed in Latin letters, strains in any word order, lasting pain, nerve
# signs in everyday words, severe pain in slang, caps and typos; and the near-misses that stay calm.
RED_FLAGS = [
    # Russian in Latin letters: soft signs with or without an apostrophe, ya/ja, shch/sch, c/ts
    ("ru", "spina bolit uzhe 3 dnya"),
    ("ru", "poyasnica bolit tretij den'"),
    ("ru", "chto to xrustnulo v spine"),
    ("ru", "shchelknulo v poyasnice"),
    ("ru", "nemeyet stopa"),
    ("ru", "bol' ne prokhodit"),
    ("ru", "ne mogu razognut'sya"),
    ("ru", "ruka slabaya"),
    ("ru", "Spina Bolit Uzhe Nedelyu"),
    # strains and a locked back, in any order
    ("ru", "поясницу сорвала"),
    ("ru", "спину сорвал"),
    ("ru", "кажется надорвала бицепс бедра"),
    ("ru", "в спину прострелило"),
    ("ru", "поясницу клинит с утра"),
    ("ru", "кажется грыжа"),
    # lasting pain and an old pain come back
    ("ru", "с субботы болит спина"),
    ("ru", "поясница до сих пор ноет"),
    ("ru", "поясница так и болит"),
    ("ru", "опять та же боль в спине"),
    # nerve signs in everyday words
    ("ru", "по ноге бегают мурашки"),
    ("ru", "рука ватная"),
    ("ru", "левая нога ватная"),
    ("ru", "нога отнимается"),
    ("ru", "бьёт током по ноге"),
    ("ru", "тянет вниз в ногу"),
    ("ru", "отдает в стопу"),
    ("ru", "пальцы покалывает"),
    # severe pain in slang, caps and typos
    ("ru", "капец как болит спина"),
    ("ru", "спина болит жесть"),
    ("ru", "поясница болит адски"),
    ("ru", "СПИНА БОЛИТ УЖАСНО"),
    ("ru", "хожу как буква зю"),
    ("ru", "не могу нормально выпрямиться"),
    ("ru", "сидеть больно"),
    ("ru", "из машины еле вылезла"),
    ("ru", "поясницу прастрелило"),
    ("es", "me dio un tiron en el isquio"),
    ("es", "me jale la espalda"),
    ("es", "se me bloqueó la espalda al subir"),
    ("es", "se me monto el gemelo"),
    ("es", "tengo lumbago desde ayer"),
    ("es", "me agarró la ciática, boludo"),
    ("es", "me duele la espalda desde el sabado"),
    ("es", "sigo con la lumbar mal"),
    ("es", "hormigueo en los dedos del pie"),
    ("es", "calambre hasta el pie"),
    ("es", "se me durmio la pierna"),
    ("es", "pie entumido"),
    ("es", "me tira la pierna hacia abajo"),
    ("es", "me duele un montón la espalda"),
    ("es", "duele una barbaridad"),
    ("es", "me duele horrible"),
    ("es", "no puedo ni sentarme"),
    ("es", "no me puedo parar derecho"),
    ("es", "vuelve lo de la espalda, como siempre"),
]
STAY_CALM = [
    ("ru", "убил ягодицы сегодня, горят", "hams-glutes"),
    ("ru", "ни онемения ни покалывания, бицуха устала", "hams-glutes"),
    ("ru", "без мурашек, ягодицы работали", "hams-glutes"),
    ("ru", "колени уезжали вперед, квадры горят", "quads-knees"),
    ("ru", "ноги ватные и тяжелые, задняя поверхность устала", "hams-glutes"),
    ("ru", "бицуха ноет со вчерашнего, крепатура", "hams-glutes"),
    ("ru", "капец ягодицы забиты", "hams-glutes"),
    ("ru", "разорвали треню, ягодицы горят", "hams-glutes"),
    ("ru", "хват не держит, предплечья забились", "grip"),
    ("ru", "yagodicy gorjat, vse norm", "hams-glutes"),
    ("ru", "my hamstrings were on fire", "hams-glutes"),
    ("es", "me mataron los glúteos, qué buen entreno", "hams-glutes"),
    ("es", "los glúteos a morir", "hams-glutes"),
    ("es", "ni hormigueo ni pinchazos, isquios cansados", "hams-glutes"),
    ("es", "la rompí en el gym, glúteos a full", "hams-glutes"),
    ("es", "me duele mucho menos, glúteos trabajaron", "hams-glutes"),
    ("es", "las rodillas se me iban hacia adelante", "quads-knees"),
    ("es", "la rutina de siempre, como la otra vez, glúteos a tope", "hams-glutes"),
]


@pytest.mark.parametrize("question", ["felt-where", "lower-back-why", "felt-where-single-leg"])
@pytest.mark.parametrize(("language", "text"), RED_FLAGS)
def test_every_wording_of_an_injury_report_reaches_the_safety_answer(language, text, question):
    assert decide(PRODUCT.for_language(language).read(text), question).outcome == Outcome.RED_FLAG


@pytest.mark.parametrize(("language", "text", "expected"), STAY_CALM)
def test_gym_slang_movement_words_and_denied_signs_stay_calm(language, text, expected):
    assert decide(PRODUCT.for_language(language).read(text), "felt-where").outcome == expected


@pytest.mark.parametrize(
    ("latin", "cyrillic"),
    [
        ("bol'no v spine", "больно в спине"),
        ("bol’no", "больно"),
        ("tretiy den'", "третий день"),
        ("shchelknulo", "щелкнуло"),
        ("schelknulo", "щелкнуло"),
        ("poyasnitsa pojasnica", "поясница поясница"),
        ("murashki begayut v levoy noge", "мурашки бегают в левой ноге"),
        ("xorosho, eto moj byl", "хорошо, это мой был"),
        ("razognut'sya boitsya", "разогнуться боится"),
    ],
)
def test_russian_in_latin_letters_is_read_back_in_cyrillic(latin, cyrillic):
    assert to_cyrillic(latin) == cyrillic


def test_english_and_mostly_cyrillic_messages_are_not_read_back():
    assert is_romanized("spina bolit") and is_romanized("potyanul poyasnicu na gud morning")
    assert not is_romanized("my lower back hurts a bit")
    assert not is_romanized("kinda painful в нижней части спины")
    assert not is_romanized("no numbness", frozenset({"no", "numbness"}))  # English words the lexicon knows
    assert PRODUCT.for_language("ru").read("no numbness").words[:2] == ("no", "numbness")
    # words the lexicon knows in Latin letters stay, a word as often Russian ("no": "но") does not
    assert to_cyrillic("hamstringi i hamstrings no v noge", frozenset({"hamstrings", "no"})) == (
        "хамстринги и hamstrings но в ноге"
    )
    assert "спина" not in PRODUCT.for_language("en").read("spina bolit").words  # only a romanized lexicon reads back


# Issue 14: whose injury, and when. Someone else's injury and an old one said to be over are not
# today's red flags, in every language; the writer's own sign, a reported one, and an old problem
# back again stay red flags. Every row was written for this test, none is in a corpus.
SCOPE = [
    ("en", "felt-where", "my wife strained her back gardening, I felt mine in the glutes today", "hams-glutes"),
    ("en", "felt-where", "my brother tore his hamstring at football so I went easy, all glutes for me", "hams-glutes"),
    ("en", "felt-where", "she pulled her calf at parkrun so I went light, hams cooked", "hams-glutes"),
    ("en", "felt-where", "broke my ankle years ago, long healed, hams did the work", "hams-glutes"),
    ("en", "felt-where", "my dad did his back in last month, I was careful, hams only", "hams-glutes"),
    ("en", "felt-where", "the bloke next to me at the gym did his back in, my hams were toast though", "hams-glutes"),
    ("en", "felt-where", "my dog pulled me over on the walk and I twisted my knee", Outcome.RED_FLAG),
    ("es", "felt-where", "mi hermana se desgarró el isquio, yo bien, todo glúteo", "hams-glutes"),
    ("es", "felt-where", "mi novio se lesionó la rodilla así que fui suave, sentí los femorales", "hams-glutes"),
    ("es", "felt-where", "mi marido se torció el tobillo, yo todo bien en glúteos", "hams-glutes"),
    ("es", "felt-where", "mi viejo se lastimó la espalda, yo sentí todo en la cola", "hams-glutes"),
    ("es", "felt-where", "mi amiga se torció el tobillo en clase, yo cero drama, glúteos", "hams-glutes"),
    ("en", "felt-where", "old rugby injury in my shoulder, nothing new, hams felt it", "hams-glutes"),
    ("es", "felt-where", "tuve un esguince de tobillo hace años, ya curado; hoy todo isquios", "hams-glutes"),
    ("es", "felt-where", "hace tres años tuve ciática, desde entonces nada, hoy glúteos", "hams-glutes"),
    ("ru", "felt-where", "жена потянула спину на работе, я делал аккуратно, ягодицы горят", "hams-glutes"),
    ("ru", "felt-where", "сосед по залу порвал связку, у меня всё хорошо, работали ягодицы", "hams-glutes"),
    ("ru", "felt-where", "у мужа защемило спину, а у меня всё хорошо, ягодицы работали", "hams-glutes"),
    ("ru", "felt-where", "муж говорит, что я сорвала спину", Outcome.RED_FLAG),
    # someone in a video is someone else; "as if someone stabbed me" is the writer
    ("en", "felt-where", "watched a video of someone tearing a hamstring, yikes, mine felt great", "hams-glutes"),
    ("en", "felt-where", "felt like someone stabbed me in the back on the last rep", Outcome.RED_FLAG),
    ("es", "felt-where", "vi un video de alguien que se rompió el isquio, qué miedo, yo bien", "hams-glutes"),
    ("es", "felt-where", "sentí como si alguien me clavara un cuchillo en la lumbar", Outcome.RED_FLAG),
    ("ru", "felt-where", "у брата грыжа, а у меня всё нормально, работали ягодицы", "hams-glutes"),
    ("ru", "felt-where", "как будто кто-то ударил ножом в поясницу", Outcome.RED_FLAG),
    ("ru", "felt-where", "в детстве ломал ногу, давно зажило, сегодня всё в задней поверхности", "hams-glutes"),
    # the writer's own, reported, or back again: still a red flag
    ("en", "felt-where", "my husband reckons I pulled something in my back", Outcome.RED_FLAG),
    ("en", "felt-where", "my mate reckons it's a pulled hamstring", Outcome.RED_FLAG),
    ("en", "felt-where", "hurt my back years ago and it flared up again today", Outcome.RED_FLAG),
    ("en", "felt-where", "old knee injury from school, healed, but it is back now", Outcome.RED_FLAG),
    ("en", "felt-where", "sprained my knee last year, never fully healed, still sore today", Outcome.RED_FLAG),
    ("en", "felt-where", "wife had to help me out of bed this morning", Outcome.RED_FLAG),
    ("es", "felt-where", "mi amiga dice que me desgarré algo en el isquio", Outcome.RED_FLAG),
    ("es", "felt-where", "lesión de rodilla hace años y hoy volvió el dolor", Outcome.RED_FLAG),
    ("ru", "felt-where", "подруга говорит, что я потянула спину", Outcome.RED_FLAG),
    ("ru", "felt-where", "старая травма колена, лет 10 назад, снова заболело", Outcome.RED_FLAG),
    # an old injury that never stopped, or a new sign after a word of today
    ("en", "felt-where", "pulled my hamstring two years ago and it's been sore since", Outcome.RED_FLAG),
    ("en", "felt-where", "herniated a disc years ago and now my left leg is numb", Outcome.RED_FLAG),
    ("en", "felt-where", "my son jumped on my back and it went into spasm", Outcome.RED_FLAG),
    ("en", "felt-where", "hubby and I both pulled our hamstrings on the swings", Outcome.RED_FLAG),
    ("es", "felt-where", "hace años me lesioné la rodilla y hoy me duele", Outcome.SAFETY_QUESTION),
    ("ru", "felt-where", "мама, я потянула спину", Outcome.RED_FLAG),
    ("ru", "felt-where", "в школе ломал ногу, давно зажило, сейчас всё в ягодицах", "hams-glutes"),
]


@pytest.mark.parametrize(("language", "question", "text", "expected"), SCOPE, ids=[t[:40] for _, _, t, _ in SCOPE])
def test_someone_elses_injury_and_an_old_healed_one_are_not_todays(language, question, text, expected):
    assert decide(SHIPPED.for_language(language).read(text), question).outcome == expected


# Issue 14's other classes, in new words: a clinician's stop, giving way, something clicking, pain at
# rest or growing; Ukrainian and surzhyk forms and Russian in Latin letters; "until" in Russian.
CLASSES_14 = [
    ("es", "felt-where", "la fisio me dijo que pare dos semanas", Outcome.RED_FLAG),
    ("es", "felt-where", "el fisio me mandó parar dos semanas", Outcome.RED_FLAG),
    ("es", "felt-where", "la kinesióloga me recomendó reposo", Outcome.RED_FLAG),
    ("en", "felt-where-single-leg", "standing leg buckled out of nowhere and I went down", Outcome.RED_FLAG),
    ("en", "felt-where", "cranked some 90s hip hop and felt the glutes fire", "hams-glutes"),
    ("es", "felt-where-single-leg", "la rodilla de apoyo se me aflojó de golpe", Outcome.RED_FLAG),
    ("ru", "felt-where", "shos hrusnulo v spyni", Outcome.RED_FLAG),
    # a denial ends where the work is said: "back didn't hurt, worked the hams hard"
    ("en", "felt-where", "back didn't hurt, worked the hams hard", "hams-glutes"),
    ("es", "felt-where", "la lumbar no duele, trabajaron los isquios", "hams-glutes"),
    ("ru", "felt-where", "поперек не болить, працювали задні стегна", "hams-glutes"),
    ("ru", "pain-check", "ні, минуло до ранку", Outcome.NO_RED_FLAG),
    ("es", "felt-where", "se me fue la rodilla para adentro y me dolió", Outcome.SAFETY_QUESTION),
    ("ru", "felt-where", "тягне в попереку вже тиждень", Outcome.RED_FLAG),
    ("ru", "felt-where", "німіє нога після махів", Outcome.RED_FLAG),
    ("ru", "felt-where", "в мене все добре, працювали сідниці", "hams-glutes"),
    ("es", "felt-where", "algo hizo clic en la rodilla y no la puedo estirar", Outcome.RED_FLAG),
    ("es", "felt-where-single-leg", "se me vence la rodilla al bajar escaleras", Outcome.RED_FLAG),
    ("es", "felt-where", "me duele la lumbar incluso acostada", Outcome.RED_FLAG),
    ("es", "felt-where", "glúteos cargados cada vez que me siento, agujetas normales", "hams-glutes"),
    ("es", "felt-where", "los femorales no me dejan, de las rodillas no bajo", "tight-hams"),
    ("ru", "felt-where", "больше всего в ягодцах, хорошо поработали", "hams-glutes"),  # a typo of a stem
    ("ru", "felt-where-single-leg", "стояла ровно, но корпус разворачивался в сторону свободной ноги", "turned-away"),
    ("ru", "felt-where", "сходил к ортопеду, сказал пока не тренироваться", Outcome.RED_FLAG),
    ("ru", "felt-where", "болело вчера, сегодня ещё сильнее", Outcome.RED_FLAG),
    ("ru", "felt-where", "поперек болить так, що не можу розігнутись", Outcome.RED_FLAG),
    ("ru", "felt-where", "коліно болить вже другий день", Outcome.RED_FLAG),
    ("ru", "felt-where", "шось хруснуло в коліні на махах", Outcome.RED_FLAG),
    ("ru", "pain-check", "ні, нічого не болить, просто втома", Outcome.NO_RED_FLAG),
    ("ru", "felt-where", "golova kruzhilas, chut ne upal", Outcome.RED_FLAG),
    ("ru", "felt-where-single-leg", "na opornoi noge koleno podkosilos", Outcome.RED_FLAG),
    ("ru", "felt-where", "пока колено не хрустнуло, всё было нормально", Outcome.RED_FLAG),
    ("ru", "felt-where", "пока не болит, всё в ягодицах", "hams-glutes"),
    ("ru", "felt-where", "ягодицы ноют каждый раз, как сажусь, обычная крепатура", "hams-glutes"),
]


# Issues 12 and 14, third round, in words no corpus holds: in Spanish and Russian any sign of an
# injury ends in the safety answer (a crack heard, a back frozen on the spot, an aid to get about,
# pain on coughing or sneezing, pain that gives no respite, a leg that gave way named before the
# verb, skin not felt, a limb as if stuffed with cotton, a jolt running down the leg on the pain
# check), also on the lower-back-why and single-leg questions; and the near-misses beside them (a
# part shot somewhere, a foot that slid and a near fall, a workout "torn", a click that does not
# hurt, a denied pain before a fault, a back that behaved, an old problem said to be over) keep
# their outcome.
ROUND_3 = [
    ("es", "felt-where", "oí un crac en la rodilla al subir la pesa y se me quedó rígida", Outcome.RED_FLAG),
    ("es", "felt-where", "sonó un crac en el isquio en el tercer swing", Outcome.RED_FLAG),
    ("es", "felt-where", "desde el martes ando con muletas por la rodilla", Outcome.RED_FLAG),
    ("es", "felt-where", "tengo que usar faja para trabajar, la lumbar no afloja", Outcome.RED_FLAG),
    ("es", "felt-where", "me duele la cintura cuando estornudo", Outcome.RED_FLAG),
    ("es", "lower-back-why", "se me redondeaba la espalda, y ahora me duele hasta al estornudar", Outcome.RED_FLAG),
    ("es", "felt-where-single-leg", "la rodilla derecha se me vencía en cada repetición y me dolía", Outcome.RED_FLAG),
    ("es", "felt-where", "la cadera izquierda no me da tregua", Outcome.RED_FLAG),
    ("es", "felt-where", "en el muslo no siento la piel, como si fuera de otro", Outcome.RED_FLAG),
    ("es", "felt-where", "el brazo izquierdo, pesado y débil desde el swing", Outcome.RED_FLAG),
    ("es", "pain-check", "sí, como un latigazo que baja hasta el talón", Outcome.RED_FLAG),
    ("es", "felt-where", "la rodilla se me fue en el último swing", Outcome.RED_FLAG),
    ("ru", "felt-where", "что-то щёлкнуло в колене и оно сразу одеревенело", Outcome.RED_FLAG),
    ("ru", "felt-where", "хожу в бандаже, поясница ноет с понедельника", Outcome.RED_FLAG),
    ("ru", "felt-where", "хожу с тростью после тяги", Outcome.RED_FLAG),
    ("ru", "felt-where", "поясницу простреливает при кашле", Outcome.RED_FLAG),
    ("ru", "lower-back-why", "спина круглилась, а теперь больно чихать", Outcome.RED_FLAG),
    ("ru", "felt-where-single-leg", "опорная нога вдруг ослабла, и колено подкосилось", Outcome.RED_FLAG),
    ("ru", "felt-where", "на бедре кожа как чужая, ничего не чувствую", Outcome.RED_FLAG),
    ("ru", "felt-where", "левая рука как ватой набита, тяжёлая", Outcome.RED_FLAG),
    ("ru", "felt-where", "стопу не чувствую после махов", Outcome.RED_FLAG),
    ("ru", "pain-check", "да, прострел в ногу до пятки", Outcome.RED_FLAG),
    ("ru", "felt-where", "поясница какая-то не такая с понедельника", Outcome.RED_FLAG),
    ("ru", "felt-where-single-leg", "таз стрельнул вверх, а колено ушло внутрь", "hip-popped"),
    ("ru", "felt-where-single-leg", "чуть не упала, стопа поехала по полу", "foot-lost"),
    ("ru", "felt-where", "порвал сегодня тренировку, ягодицы горят", "hams-glutes"),
    ("ru", "felt-where", "никакой боли, просто поясница устала", "lower-back"),
    ("ru", "felt-where", "поясница молодцом, работали ягодицы", "hams-glutes"),
    ("ru", "felt-where", "тазобедренный щёлкает, всегда так было, не болит, ягодицы горят", "hams-glutes"),
    ("ru", "felt-where", "раньше поясница постоянно болела, уже нет, сегодня всё в ягодицах", "hams-glutes"),
    ("es", "felt-where-single-leg", "se me resbaló el pie y casi me caigo, nada de dolor", "foot-lost"),
    ("es", "felt-where", "no me dolió nada, solo la lumbar cargada", "lower-back"),
    ("es", "felt-where", "me rompí el culo en el rumano, glúteos reventados", "hams-glutes"),
    ("es", "felt-where", "la cadera me cruje, siempre lo ha hecho, no duele, glúteos a tope", "hams-glutes"),
    ("es", "felt-where", "antes la lumbar me dolía siempre, ya no me pasa, hoy todo glúteo", "hams-glutes"),
    ("es", "felt-where", "las rodillas se doblaban demasiado, parecía que me sentaba", "quads-knees"),
]


@pytest.mark.parametrize(("language", "question", "text", "expected"), ROUND_3, ids=[t[:40] for _, _, t, _ in ROUND_3])
def test_issue_12_and_14_third_round_classes(language, question, text, expected):
    assert decide(SHIPPED.for_language(language).read(text), question).outcome == expected


@pytest.mark.parametrize(
    ("language", "question", "text", "expected"), CLASSES_14, ids=[t[:40] for _, _, t, _ in CLASSES_14]
)
def test_issue_14_classes_in_words_no_corpus_holds(language, question, text, expected):
    assert decide(SHIPPED.for_language(language).read(text), question).outcome == expected


def test_the_rows_here_are_in_no_corpus():
    from benchmarks.checkin_accuracy import CORPORA, load_rows

    corpora = {row.text.casefold() for _language, path in CORPORA.values() if path.exists() for row in load_rows(path)}
    assert not [text for _l, _q, text, _e in SCOPE + CLASSES_14 + ROUND_3 if text.casefold() in corpora]


# Round 4 (issue 12/14): the classes blind H and the fourth es/ru blind sets missed, in words no
# corpus holds, read by the rules alone and by the shipped reader: a part that feels broken and
# walking made hard, a sneeze or a fall that puts someone on the floor, a pain from one weekday to
# another, a lump (a diminutive too), a back stuck bent, pressure behind the breastbone with no
# air; and the near-misses: a year of an old healed injury, sharp as a state of mind, numb with
# joy, an effort idiom, a sign denied "this time", stiff hamstrings the next day, "nothing weird".
ROUND_4 = [
    ("en", "felt-where", "behind my knee i feel something is broken, walking is hard now", Outcome.RED_FLAG),
    ("en", "felt-where", "something is broke in my hamstring, the walking is difficult", Outcome.RED_FLAG),
    ("en", "felt-where", "coughed at lunch and my back nearly dropped me to the ground", Outcome.RED_FLAG),
    ("en", "felt-where", "sneezed and my lower back put me on the floor", Outcome.RED_FLAG),
    ("en", "felt-where", "hamstring still sore from monday and its thursday now", Outcome.RED_FLAG),
    ("en", "felt-where", "back has ached since saturday and today is wednesday", Outcome.RED_FLAG),
    ("en", "felt-where", "noticed a little lump in my groin that was not there before", Outcome.RED_FLAG),
    ("en", "felt-where", "hurt my knee back in 2019, long healed, hams worked today", "hams-glutes"),
    ("en", "felt-where", "had a disc issue in 2015, all good now, glutes burning", "hams-glutes"),
    ("en", "felt-where", "felt sharp and focused, hamstrings did the work", "hams-glutes"),
    ("en", "felt-where", "mentally sharp today, glutes firing", "hams-glutes"),
    ("en", "felt-where", "felt alert and sharp, hams loaded nicely", "hams-glutes"),
    ("en", "felt-where", "no numbness, no tingling, nothing odd, just a big stretch in the hams", "hams-glutes"),
    ("en", "felt-where", "sharp pain in my back", Outcome.RED_FLAG),
    ("en", "felt-where", "sharp pain and I felt awake all night", Outcome.RED_FLAG),
    ("en", "felt-where", "no dizziness this time, felt it in hams and glutes", "hams-glutes"),
    ("en", "felt-where", "not a single tweak in my back this time, all hamstring", "hams-glutes"),
    ("en", "felt-where", "my hamstrings were stiff as a board, could not get low", "tight-hams"),
    (
        "es",
        "felt-where",
        "en la parte de atrás de la pierna siento que algo se rompió, ahora me cuesta caminar",
        Outcome.RED_FLAG,
    ),
    ("es", "felt-where", "estornudé y la lumbar casi me tira al suelo", Outcome.RED_FLAG),
    ("es", "felt-where", "me duele la espalda desde el martes y ya es viernes", Outcome.RED_FLAG),
    ("es", "felt-where", "tengo una bolita en la ingle que antes no tenía", Outcome.RED_FLAG),
    ("es", "felt-where", "me salió un bulto en la ingle después del peso muerto", Outcome.RED_FLAG),
    ("es", "felt-where", "me quedé encorvado sin poder enderezarme", Outcome.RED_FLAG),
    ("es", "felt-where", "me quedé doblado, no podía ponerme recto", Outcome.RED_FLAG),
    ("es", "felt-where", "la rodilla se me aflojó y me caí al suelo", Outcome.RED_FLAG),
    ("es", "felt-where", "me operaron la hernia en 2017, ya está curada, hoy isquios", "hams-glutes"),
    ("es", "felt-where", "la lesión de rodilla que tuve hace años ya no molesta, glúteos a tope", "hams-glutes"),
    ("es", "felt-where", "me sentí despierto y concentrado, isquios trabajando", "hams-glutes"),
    ("es", "felt-where", "ni un pinchazo en la lumbar esta vez, todo glúteo", "hams-glutes"),
    ("es", "felt-where", "sin hormigueo esta vez, lo sentí en los isquios", "hams-glutes"),
    ("es", "felt-where", "sin mareo hoy, glúteos y femorales", "hams-glutes"),
    ("es", "felt-where", "los isquios duros como una piedra, no bajaba", "tight-hams"),
    ("es", "felt-where", "isquios rígidos como tabla, no llegué abajo", "tight-hams"),
    ("es", "felt-where", "un poco cargada la zona lumbar, glúteos bien", "lower-back"),
    ("es", "lower-back-why", "creo que se me curvó la espalda", "rounded"),
    ("es", "lower-back-why", "se me redondeó la espalda, me parece", "rounded"),
    (
        "es",
        "felt-where",
        "sin hormigueo, sin entumecimiento, nada raro, solo un estiramiento en los isquios",
        "hams-glutes",
    ),
    ("ru", "felt-where", "сзади на ноге чувствую что-то сломалось, теперь трудно ходить", Outcome.RED_FLAG),
    ("ru", "felt-where", "чихнул и поясница чуть не уложила меня на пол", Outcome.RED_FLAG),
    ("ru", "felt-where", "болит со вторника, а уже пятница", Outcome.RED_FLAG),
    ("ru", "felt-where", "нащупал шишку в паху, раньше не было", Outcome.RED_FLAG),
    ("ru", "felt-where", "появился бугорок под коленом после тяги", Outcome.RED_FLAG),
    ("ru", "felt-where", "уплотнение в паху после становой", Outcome.RED_FLAG),
    ("ru", "felt-where", "заклинило поясницу, еле разогнулся", Outcome.RED_FLAG),
    ("ru", "felt-where", "сдавило в груди и не хватало воздуха", Outcome.RED_FLAG),
    ("ru", "felt-where", "давило в груди, было тяжело дышать", Outcome.RED_FLAG),
    ("ru", "felt-where", "скрючило так, что не мог разогнуться", Outcome.RED_FLAG),
    ("ru", "felt-where", "колено подкосилось и я упал на бок", Outcome.RED_FLAG),
    ("ru", "felt-where", "в 2018 порвал заднюю, давно зажило, сегодня ягодицы", "hams-glutes"),
    ("ru", "felt-where", "лет десять назад была грыжа, давно не беспокоит, сегодня задняя поверхность", "hams-glutes"),
    ("ru", "felt-where", "чувствовала себя бодрой и собранной, ягодицы работали", "hams-glutes"),
    ("ru", "felt-where", "ноги онемели от восторга, шучу, ягодицы горят", "hams-glutes"),
    ("ru", "felt-where", "онемел от радости, ягодицы наконец работают", "hams-glutes"),
    ("ru", "felt-where", "бицепсы бедра отработали на износ", "hams-glutes"),
    ("ru", "felt-where", "ни одного прострела в спине в этот раз, всё в ягодицах", "hams-glutes"),
    ("ru", "felt-where", "без головокружения в этот раз, ягодицы и бедра", "hams-glutes"),
    ("ru", "felt-where", "задняя поверхность бедра деревянная, ниже колен не опускаюсь", "tight-hams"),
    ("ru", "felt-where", "бедра сзади забитые на следующий день, как обычно", "hams-glutes"),
    ("ru", "felt-where", "немного забита поясница, ягодицы норм", "lower-back"),
    ("ru", "lower-back-why", "кажется, спина округлилась", "rounded"),
    (
        "ru",
        "felt-where",
        "без покалывания, без онемения, ничего странного, просто тянуло заднюю поверхность бедра",
        "hams-glutes",
    ),
    ("en", "felt-where", "no pain this time, felt it in the glutes and hams", "hams-glutes"),
    ("en", "felt-where", "hamstrings stiff the day after, the usual", "hams-glutes"),
    ("en", "felt-where", "hamstrings too stiff to get past my knees", "tight-hams"),
    ("es", "felt-where", "isquios rígidos al día siguiente, lo normal", "hams-glutes"),
    ("ru", "felt-where", "без боли в этот раз, ягодицы и бицепс бедра", "hams-glutes"),
    ("en", "felt-where", "sharp and awake all session, glutes did the lifting", "hams-glutes"),
    ("es", "felt-where", "me rompí el isquio en 2016, ya curado, hoy glúteos a tope", "hams-glutes"),
    ("ru", "felt-where", "в 2016 порвал заднюю поверхность, давно зажило, сегодня ягодицы горят", "hams-glutes"),
    ("en", "felt-where", "same pain as 2022 in my lower back", Outcome.RED_FLAG),
    ("en", "felt-where", "slipped a disc in 2020, healed, but today my leg is numb", Outcome.RED_FLAG),
    ("en", "felt-where", "my back locked and I was stuck bent over, could not straighten up", Outcome.RED_FLAG),
    ("en", "felt-where", "feeling sharp and energised, glutes did the work", "hams-glutes"),
    ("en", "felt-where", "mind felt sharp today, hamstrings loaded well", "hams-glutes"),
    ("en", "felt-where", "sharp as a tack today, hams working", "hams-glutes"),
    ("en", "felt-where", "feels like something broke in my calf, walking is painful", Outcome.RED_FLAG),
    ("en", "felt-where", "bent down for a sock and my back put me on the floor", Outcome.RED_FLAG),
    ("en", "felt-where", "back sore since monday and it is thursday", Outcome.RED_FLAG),
    ("en", "felt-where", "not one twinge in my back this time, all hamstrings", "hams-glutes"),
    ("en", "felt-where", "had knee surgery in 2017, fully recovered, glutes were on fire", "hams-glutes"),
    ("en", "felt-where", "hams stiff next day as usual", "hams-glutes"),
    ("en", "felt-where", "there is a lump behind my knee since the swings", Outcome.RED_FLAG),
    ("en", "felt-where", "could not breathe properly and my chest felt squeezed", Outcome.RED_FLAG),
    ("es", "felt-where", "duele desde el lunes y hoy es jueves", Outcome.RED_FLAG),
    ("es", "felt-where", "una bolita detrás de la rodilla que no estaba", Outcome.RED_FLAG),
    ("es", "felt-where", "me quedé trabado sin poder enderezarme", Outcome.RED_FLAG),
    ("es", "felt-where", "no me podía enderezar después del swing", Outcome.RED_FLAG),
    ("es", "felt-where", "en 2018 me operaron la rodilla, ya recuperada, hoy glúteos", "hams-glutes"),
    ("es", "felt-where", "ni una molestia en la lumbar esta vez, todo glúteo", "hams-glutes"),
    ("es", "felt-where", "sin dolor esta vez, isquios trabajando", "hams-glutes"),
    ("es", "felt-where", "me sentí lúcido y concentrado, glúteos a tope", "hams-glutes"),
    ("es", "felt-where", "isquios duros al día siguiente, normal", "hams-glutes"),
    ("es", "felt-where", "siento que algo se rompió en el gemelo, no puedo caminar bien", Outcome.RED_FLAG),
    ("es", "felt-where", "me apretaba el pecho y me faltaba el aire", Outcome.RED_FLAG),
    ("ru", "felt-where", "шишечка под коленкой появилась после тяги", Outcome.RED_FLAG),
    ("ru", "felt-where", "не хватало воздуха и давило в груди", Outcome.RED_FLAG),
    ("ru", "felt-where", "с понедельника болит, уже четверг", Outcome.RED_FLAG),
    ("ru", "felt-where", "в 2019 была операция на колене, давно всё прошло, сегодня ягодицы", "hams-glutes"),
    ("ru", "felt-where", "ни одной боли в пояснице в этот раз, всё в ягодицах", "hams-glutes"),
    ("ru", "felt-where", "без головокружения на этот раз, ягодицы горят", "hams-glutes"),
    ("ru", "felt-where", "голова ясная, собранная, ягодицы работали", "hams-glutes"),
    ("ru", "felt-where", "чувствую что-то сломалось в икре, ходить тяжело", Outcome.RED_FLAG),
    ("ru", "felt-where", "чихнула и спину так прихватило, что упала на пол", Outcome.RED_FLAG),
    ("ru", "felt-where", "бедра сзади деревянные на утро, как всегда", "hams-glutes"),
]
RULES_ONLY = Readers(
    {language: lexicon.model_copy(update={"screen": None}) for language, lexicon in CONTENT.lexicons.items()}
)


@pytest.mark.parametrize("readers", [RULES_ONLY, SHIPPED], ids=["rules", "shipped"])
@pytest.mark.parametrize(("language", "question", "text", "expected"), ROUND_4, ids=[t[:40] for _, _, t, _ in ROUND_4])
def test_issue_12_and_14_fourth_round_classes(readers, language, question, text, expected):
    assert decide(readers.for_language(language).read(text), question).outcome == expected


def test_the_fourth_round_rows_are_in_no_corpus():
    from benchmarks.checkin_accuracy import CORPORA, load_rows

    corpora = {row.text.casefold() for _language, path in CORPORA.values() if path.exists() for row in load_rows(path)}
    assert not [text for _l, _q, text, _e in ROUND_4 if text.casefold() in corpora]


@pytest.mark.parametrize("language", sorted(CONTENT.lexicons))
def test_the_scope_words_are_read_as_written(language):
    """A person or a time of the scope that typo fixing turned into another word ("brother" into
    "bother", "tiempo" into "tempo") would never be found."""
    reader = SHIPPED.for_language(language)
    scope = CONTENT.lexicons[language].scope
    phrases = [
        *scope.others,
        *scope.selves,
        *scope.hearsay,
        *scope.past,
        *scope.healed,
        *scope.returned,
        *scope.present,
    ]
    changed = [w for phrase in phrases for w in reader._expand(phrase) if reader._fix_typo(w) != w]
    assert not changed


def test_half_a_scope_is_reported_with_file_and_line(tmp_path):
    text = (CONTENT_DIR / "lexicons" / "es.yaml").read_text(encoding="utf-8")
    start = text.index("  returned: [")
    root = _with_lexicon(tmp_path, "es", text[:start] + text[text.index("\n", start) + 1 :])
    with pytest.raises(ContentError) as caught:
        load_content(root)
    assert "es.yaml:" in str(caught.value) and "scope.past and scope.healed need scope.returned" in str(caught.value)


@pytest.mark.parametrize(
    ("latin", "cyrillic"),
    [("golova kruzhilas", "голова кружилась"), ("koleno podkosilos", "колено подкосилось"), ("na levoi", "на левой")],
)
def test_a_reflexive_past_and_a_final_oi_are_read_back(latin, cyrillic):
    assert to_cyrillic(latin) == cyrillic
