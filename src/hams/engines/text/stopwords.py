"""Stop words for the extractive engine: words that carry grammar rather than topic, so they
never start or end a key phrase and never count as shared content between two sentences.

The lists favour spoken language (transcripts): they include fillers such as "um" and "يعني",
the verbs people lean on while talking ("going", "know", "كان", "يمكن") and the words of
greetings, thanks and presenting ("hello", "welcome", "episode", "مرحبا", "شكرا", "الحلقة").
Arabic words are written in their ordinary spelling, with hamza and taa marbuta; the engine
folds them the same way it folds transcript words before comparing, so "إلى" also catches "الى"
and "الي".

Fixed formulas are listed whole, because their words are ordinary content elsewhere: "الله",
"السلام" or "morning" name a topic in one talk and only greet in another. The engine ignores the
words of a formula, where the formula is said, for key phrases and for ranking sentences.
"""

from __future__ import annotations

_ENGLISH = """
    a about above across after afterwards again against ago all almost along already also
    although always am among amongst an and another any anybody anyhow anyone anything anyway
    anywhere are aren't around as aside at away

    back basically be became because become becomes becoming been before beforehand behind
    being below beside besides between beyond both but by

    can can't cannot could couldn't did didn't do does doesn't doing don't done down during

    each either else elsewhere enough especially etc even ever every everybody everyone
    everything everywhere except

    far few first for former formerly from further furthermore

    get gets getting give given gives go goes going gone got gotten

    had hadn't has hasn't have haven't having he he'd he'll he's hence her here here's hers
    herself him himself his how however

    i i'd i'll i'm i've ie if in inside instead into is isn't it it'd it'll it's its itself

    just keep keeps kind know known knows

    last lately later least less let let's like likely lot lots

    made make makes making many may maybe me meanwhile might mine more moreover most mostly
    much must my myself

    namely near nearly need needs neither never nevertheless next no nobody none nonetheless
    nor not nothing now nowhere

    of off often oh ok okay on once one ones only onto or other others otherwise ought our ours
    ourselves out outside over own

    per perhaps please put

    quite rather really right

    said same say saying says see seem seemed seeming seems seen several shall she she'd
    she'll she's should shouldn't since so some somebody somehow someone something sometime
    sometimes somewhat somewhere sort still such sure

    take taken takes than that that'd that'll that's the their theirs them themselves then
    thence there there'd there'll there's thereafter thereby therefore these they they'd
    they'll they're they've thing things think this those though through throughout thus to
    together too took toward towards

    uh um umm under unless unlike until up upon us use used uses using usually

    various very via

    want wants was wasn't way we we'd we'll we're we've well went were weren't what what's
    whatever when whenever where where's whereas whereby wherever whether which while who
    who's whoever whole whom whose why will with within without won't would wouldn't

    yeah yes yet you you'd you'll you're you've your yours yourself yourselves

    two three four five six seven eight nine ten

    ah er erm hmm mm actually honestly gonna wanna gotta stuff guys today tomorrow yesterday

    hello hi hey welcome thanks thank bye goodbye folks people show episode channel subscribe
    talking talked
    """

_ARABIC = """
    و ف ب ك ل أ

    في من إلى على عن مع عند لدى لدي حتى منذ مذ بين حول خلال دون ضد نحو عبر تحت فوق أمام خلف
    وراء بعد قبل سوى عدا لأجل بدون ضمن إزاء تجاه

    فيه فيها فيهم فيهما فيهن فينا منه منها منهم منهما منا مني عليه عليها عليهم عليهما علينا
    إليه إليها إليهم إلينا عنه عنها عنهم عنا معه معها معهم معنا له لها لهم لهما لنا لي لك
    لكم به بها بهم بنا بي عنده عندها عندهم عندنا بينها بينهم بيننا

    أنا نحن أنت أنتِ أنتما أنتم أنتن هو هي هما هم هن إياه إياها إياهم

    هذا هذه هذان هذين هاتان هاتين هؤلاء ذلك تلك ذاك أولئك هنا هناك هنالك ههنا بهذا بهذه لهذا
    لهذه بذلك لذلك كذلك لتلك بتلك

    الذي التي الذين اللذان اللذين اللتان اللتين اللاتي اللواتي اللائي

    أن إن أنّ إنّ لأن كأن كأنّ لكن لكنّ بل أو أم ثم لا لم لن ما مما عما فيما بما كما لما إنما ربما
    بعدما قبلما طالما كلما ليس ليست ليسوا قد لقد سوف إذ إذا إذن لو لولا كي لكي حيث حيثما
    كيف متى أين لماذا ماذا هل نعم كلا بلى إلا ألا أما إما أي أية أيها أيتها يا

    كل كلها كله بعض بعضها جميع جميعا كلتا عدة مثل نفس ذات أيضا أيضاً فقط جدا جداً معظم أكثر أقل
    غير شيء أشياء الآن حين حينما عندما بينما آخر أخرى الآخر

    كان كانت كانوا كنت كنا يكون تكون يكونون أكون نكون أصبح أصبحت يصبح تصبح صار صارت يصير
    ظل ظلت مازال ماتزال يزال تزال زال زالت قال قالت قالوا يقول تقول يمكن يمكنه يمكنها يجب
    ينبغي ثمة

    يعني طيب إذًا

    بكم عليكم إليكم منكم معكم عنكم عليك بك إليك أنه أنها أنهم إنه إنها إنهم لأنه لأنها

    مرحبا أهلا سهلا وسهلا شكرا جزيلا أعزائي الأعزاء الكرام مشاهدينا متابعينا المشاهدين
    المتابعين اليوم حلقة الحلقة حلقتنا نتحدث سنتحدث نتكلم سنتكلم حديثنا
    """

_ARABIC_FORMULAS = """
    السلام عليكم ورحمة الله وبركاته
    السلام عليكم ورحمة الله
    السلام عليكم
    وعليكم السلام ورحمة الله وبركاته
    وعليكم السلام
    ورحمة الله وبركاته
    والسلام عليكم ورحمة الله وبركاته
    والسلام عليكم
    بسم الله الرحمن الرحيم
    بسم الله
    الحمد لله رب العالمين
    الحمد لله
    والصلاة والسلام على رسول الله
    الصلاة والسلام على رسول الله
    والصلاة والسلام على أشرف المرسلين
    صلى الله عليه وسلم
    جزاكم الله خيرا
    إن شاء الله
    في أمان الله
    صباح الخير
    مساء الخير
    حلقة جديدة
    شكرا على المتابعة
    شكرا لكم على المتابعة
    شكرا لحسن المتابعة
    """

_ENGLISH_FORMULAS = """
    good morning
    good afternoon
    good evening
    good night
    ladies and gentlemen
    thanks for watching
    thank you for watching
    thanks for listening
    thank you for listening
    thanks for joining
    thank you for joining
    see you next time
    see you next week
    have a great day
    have a nice day
    """

ENGLISH_STOP_WORDS = frozenset(_ENGLISH.split())
ARABIC_STOP_WORDS = frozenset(_ARABIC.split())
# Greetings, blessings and thanks said whole, one formula a line.
ENGLISH_FORMULAS = tuple(tuple(line.split())
                         for line in _ENGLISH_FORMULAS.strip().splitlines())
ARABIC_FORMULAS = tuple(tuple(line.split())
                        for line in _ARABIC_FORMULAS.strip().splitlines())
