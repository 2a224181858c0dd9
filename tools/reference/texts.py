"""The fixture texts (written to src/model/fixtures/texts.json by make_fixtures.py).

Every text is defined here, in source, so the fixtures depend on nothing outside this folder.
The passages are written for these fixtures in the style of MS MARCO passages (they are not copied
from the data set). The one long text is built deterministically from the sentence pool below.
"""

from __future__ import annotations

import random

# Written for these fixtures: MS MARCO-like passages of increasing length (about 15 to 260 words).
PASSAGES = [
    "The Eiffel Tower is 330 metres tall and was the tallest man-made structure in the world until 1930.",
    "Goldfish can grow to a length of 30 cm in a pond, but most pet goldfish stay far smaller because "
    "their growth is limited by the size of the tank, the water quality and the amount of food they get.",
    "A declaratory judgment is a binding judgment from a court defining the legal relationship between "
    "parties and their rights in a matter before the court. Unlike other judgments, it does not order any "
    "action or award damages. It is often sought when parties are uncertain of their rights under a "
    "contract, a will or a statute, and want them settled before a dispute grows worse.",
    "Sous vide is a method of cooking in which food is placed in a plastic pouch or a glass jar and cooked "
    "in a water bath for longer than usual cooking times, usually one to seven hours and up to 72 hours in "
    "some cases, at a precisely regulated temperature. The temperature is much lower than normally used for "
    "cooking, typically around 55 to 60 degrees Celsius for red meat, 66 to 71 degrees Celsius for poultry, "
    "and higher for vegetables. The intent is to cook the item evenly, ensuring that the inside is properly "
    "cooked without overcooking the outside, and to retain moisture.",
    "The life cycle of a flea has four stages: egg, larva, pupa and adult. A female flea lays up to 50 eggs "
    "a day on the host animal, and the eggs soon fall off into carpets, bedding and cracks in the floor. "
    "After two to twelve days the eggs hatch into larvae, which avoid light and feed on organic debris and "
    "on the droppings of adult fleas. The larvae spin cocoons after one to two weeks, and the pupae inside "
    "can wait for weeks or even months until they sense warmth, vibration or carbon dioxide from a passing "
    "host. The whole cycle can take as little as two weeks in warm, humid conditions, or many months when "
    "it is cold. This is why an infestation seems to come back after treatment: the pupae are protected by "
    "their cocoons, and a single treatment rarely reaches every stage at once.",
    "Contour plowing is the farming practice of plowing across a slope following its elevation contour "
    "lines. The rows form slow water run-off during rainstorms to prevent soil erosion and allow the water "
    "time to settle into the soil. In contour plowing, the ruts made by the plow run perpendicular rather "
    "than parallel to the slopes, generally resulting in furrows that curve around the land and are level. "
    "A similar practice is contour bunding, where stones are placed around the contours of slopes. Contour "
    "plowing has been practised for hundreds of years and was adopted widely in the United States in the "
    "1930s after the Dust Bowl, when the Soil Conservation Service promoted it along with strip cropping "
    "and terracing. Studies have found that contour farming can reduce soil erosion by as much as 50 "
    "percent compared with farming up and down hills, and that it can also increase crop yields because "
    "more water stays in the field. The benefits are greatest on gentle slopes of two to ten percent; on "
    "steeper ground the furrows can overflow in heavy rain, which concentrates the water and may cause "
    "gullies. For that reason farmers on steep land usually combine contour plowing with terraces, grassed "
    "waterways or permanent vegetation, and they keep the rows as close to the true contour as the shape "
    "of the field allows. Modern guidance systems that use satellite positioning have made it much easier "
    "to lay out and follow contour lines, even on large fields with irregular terrain.",
]

# Sentence pool for the long text (written for these fixtures).
_SENTENCES = [
    "The river rises in the hills to the west and flows for more than two hundred miles before it reaches the sea.",
    "Most of the town was rebuilt in stone after the great fire of 1666.",
    "Researchers measured the temperature of the water every hour for three years.",
    "The committee published its final report in the spring, and the minister accepted most of its recommendations.",
    "A healthy adult needs between seven and nine hours of sleep a night.",
    "The museum holds a collection of more than forty thousand objects, from Roman coins to modern paintings.",
    "Farmers in the valley grow wheat, barley and potatoes, and many also keep sheep on the higher ground.",
    "The bridge was opened in 1894 and is still used by thousands of vehicles every day.",
    "When the engine overheats, the warning light on the dashboard turns red.",
    "The library is open from nine in the morning until eight in the evening on weekdays.",
    "Photosynthesis converts light energy into chemical energy that is stored in sugars.",
    "The company reported a profit of 12 million dollars, up from 9 million the year before.",
    "Children who read every day tend to have a larger vocabulary than those who do not.",
    "The recipe calls for two cups of flour, a pinch of salt and three eggs.",
    "Heavy rain caused flooding in several villages, and the main road was closed for two days.",
    "The novel follows a young woman who leaves her village to work in the city.",
    "Vaccines train the immune system to recognise a virus without causing the disease.",
    "The train leaves the station at a quarter past seven and arrives just before noon.",
    "A square has four sides of equal length and four right angles.",
    "The castle stands on a rock above the harbour and can be seen from miles away.",
    "Prices rose sharply in the autumn because of the poor harvest.",
    "The software update fixes a bug that made the application crash when saving large files.",
    "Bees play an important role in pollinating many of the crops that people eat.",
    "The team trained twice a day for six weeks before the tournament.",
    "Copper is an excellent conductor of both heat and electricity.",
    "The old mill was turned into a hotel with thirty rooms and a restaurant.",
    "In the north of the country winters are long and summers are short and cool.",
    "The patient was given antibiotics and made a full recovery within a week.",
    "The census showed that the population of the region had doubled in fifty years.",
    "She studied mathematics at university and later became a teacher.",
    "The ship carried coal, timber and grain between the northern ports.",
    "Regular exercise lowers the risk of heart disease and improves mood.",
    "The council plans to plant ten thousand trees along the new cycle paths.",
    "Glass is made by heating sand, soda and lime to a very high temperature.",
    "The festival attracts visitors from all over the world every summer.",
    "Without enough water, the leaves of the plant turn yellow and fall off.",
    "The court ruled that the contract was valid and ordered the company to pay.",
    "Light travels at about three hundred thousand kilometres per second.",
    "The village school has only two classrooms and fewer than forty pupils.",
    "Volcanic soil is often very fertile, which is why people farm close to active volcanoes.",
]


def long_text(min_words: int = 2000, seed: int = 20240501) -> str:
    """About 2,000 words of real-looking English: pool sentences in a seeded random order, in paragraphs."""
    rng = random.Random(seed)
    words = 0
    paragraphs: list[str] = []
    current: list[str] = []
    while words < min_words:
        order = list(_SENTENCES)
        rng.shuffle(order)
        for sentence in order:
            current.append(sentence)
            words += len(sentence.split())
            if len(current) == 6:
                paragraphs.append(" ".join(current))
                current = []
            if words >= min_words:
                break
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


def fixture_texts() -> list[dict[str, str]]:
    """The fixture texts, in order: [{"id": ..., "text": ...}]. Ids are unique and stable."""
    texts: list[tuple[str, str]] = [
        ("empty", ""),
        ("spaces", "   "),
        ("tab-newline", "\t\n"),
        ("seed-query", "How big is London"),
        ("seed-answer", "London has 9,787,426 inhabitants at the 2011 census"),
        ("seed-distractor", "London is known for its financial district"),
        ("accents", "Café naïve résumé Ångström"),
        ("accents-upper", "ÉCOLE NORMALE SUPÉRIEURE à Paris, Zürich, São Paulo, Kraków"),
        ("combining", "cafe\u0301 (decomposed) vs café (precomposed), n\u0303 and A\u030a"),
        ("chinese", "北京是中华人民共和国的首都，人口超过两千万。"),
        ("japanese", "東京タワーはとても高いです。ひらがなとカタカナ、ｶﾀｶﾅ（半角）も。"),
        ("korean", "서울은 대한민국의 수도입니다. 한국어 문장입니다."),
        ("emoji", "I love pizza 🍕😀👍 and 👍🏽👋🏿 family: 👨‍👩‍👧‍👦 👩🏽‍💻 flags: 🇬🇧🇯🇵🏳️‍🌈 ❤️"),
        ("astral-math", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝒎𝒂𝒕𝒉 letters and 𐍈 Gothic"),
        ("mixed-case", "ThIs Is MiXeD CaSe TEXT with iPhone, McDonald's and NASA"),
        ("punctuation-runs", "!!!???...---"),
        ("punctuation-mixed", "Wait... what?! (really) [sic] {braces} \"quotes\" 'single' — dash – en ‘curly’ “double” «guillemets» …"),
        ("numbers", "9,787,426 3.14159 1e-9 -42 +7 1/2 50% $1,000.00 2011-03-04 10:30am 0x1F"),
        ("url-email", "Visit https://www.example.com/path/to/page?query=1&x=y#frag or mail john.doe+tag@example.co.uk today"),
        ("special-bert", "hello [SEP] world [MASK]"),
        ("special-mpnet", "<s> and </s> <mask>"),
        ("special-mixed", "[CLS] [PAD] [UNK] <pad> <unk> [sep] [mask] <MASK> [SEP][SEP]x<mask>y"),
        ("control-zero-width", "zero\u200bwidth\u200c non\u200djoiner\ufeffbom \u0007bell \u0000nul \u001besc \u007fdel \u00adsoft\ufffdrepl"),
        ("nbsp", "non\u00a0breaking\u00a0space and\u202fnarrow and\u2009thin and\u3000ideographic\u2028line\u2029para"),
        ("greek", "ΟΔΥΣΣΕΥΣ Οδυσσεύς σοφός"),
        ("turkish", "İstanbul'da İyi ve ıyı; DİYARBAKIR ıĞüŞöÇ"),
        ("fullwidth", "ＡＢＣ　１２３　ｆｕｌｌｗｉｄｔｈ！"),
        ("symbols", "∑ x² ≤ ∞ ≠ √2 € £ ¥ ₹ © ® ™ ° ½ → ⇒"),
        ("arabic", "مرحبا بالعالم، هذه جملة عربية للاختبار."),
        ("hebrew", "שלום עולם, זה משפט בעברית."),
        ("devanagari-thai", "नमस्ते दुनिया สวัสดีชาวโลก"),
        ("long-word", "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3),
        ("word-100", "a" * 100 + " " + "b" * 101 + " end"),
        ("apostrophes", "don't won't can't it's O'Neil's rock'n'roll"),
        ("whitespace-padded", "  padded text with spaces  \n"),
        ("multiline", "First line.\nSecond line.\r\nThird\tcolumn\tseparated.\n\n\nFifth after blanks."),
        ("query-like", "what is the capital of france"),
    ]
    texts += [(f"passage-{i + 1}", p) for i, p in enumerate(PASSAGES)]
    texts.append(("long-2000-words", long_text()))
    ids = [t[0] for t in texts]
    assert len(ids) == len(set(ids)), "duplicate text ids"
    return [{"id": i, "text": t} for i, t in texts]
