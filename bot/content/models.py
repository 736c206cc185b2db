"""Typed shapes of the files in `content/`. Extra keys are errors, so typos surface at start-up."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

import snowballstemmer
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from bot.language import BASE_LANGUAGE, plural_category

Slug = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=40)
Topic = Literal["down", "up", "brace", "back", "knees", "glutes", "running"]
Effect = Literal["clean", "regress", "activate", "none", "red_flag"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Fault(Strict):
    fault: str
    fix: str


class Drill(Strict):
    id: str = Slug
    name: str
    dose: str
    summary: str
    steps: list[str] = Field(min_length=1)
    faults: list[Fault] = []
    cues: list[str] = []


class Cue(Strict):
    id: str = Slug
    text: str
    why: str
    topics: list[Topic] = Field(min_length=1)
    synonyms: list[str] = []
    drills: list[str] = Field(min_length=1)


class DrillDose(Strict):
    """A drill as prescribed in one place, optionally with its own dose."""

    drill: str
    dose: str | None = None
    note: str | None = None


class LessonCues(Strict):
    down: list[str] = Field(min_length=1)
    up: list[str] = Field(min_length=1)


class ProfileNotes(Strict):
    runner: str | None = None
    lifter: str | None = None


class Lesson(Strict):
    day: int = Field(ge=1, le=7)
    title: str
    goal: str
    intro: str
    drills: list[DrillDose] = Field(min_length=1)
    cues: LessonCues
    why: str
    notes: ProfileNotes = ProfileNotes()
    checkin: str | None = None


class PathStep(Strict):
    when: str
    what: str


class Course(Strict):
    title: str
    welcome: str
    safety: str
    graduation: str
    path_ahead: list[PathStep] = Field(min_length=1)


PAIN_OPTION = "unclear-pain"  # on every question, typed only: pain mentioned but unclear leads to the pain-check


class Option(Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=20)
    label: str = Field(max_length=30)
    phrases: list[str] = Field(min_length=1)  # what people say for it: the cue search reads them
    advice: str | None = None
    next: str | None = None
    button: bool = True  # False: reached by typing only (a region the buttons need not offer)

    @model_validator(mode="after")
    def _one_destination(self) -> Option:
        if (self.advice is None) == (self.next is None):
            raise ValueError("an option needs exactly one of 'advice' or 'next'")
        return self


class Node(Strict):
    id: str = Slug
    question: str
    options: list[Option] = Field(min_length=2)


class Advice(Strict):
    id: str = Slug
    title: str
    meaning: str
    do: str
    drills: list[DrillDose] = []
    cues: list[str] = []
    effect: Effect


class RedFlag(Strict):
    """The safety answer a red flag in any words leads to (the words are in content/lexicons/)."""

    advice: str


class Openings(Strict):
    """First lines that go before advice when the answer said more than the advice is about."""

    good_too: str  # a fault won, but the hamstrings and glutes were working too
    pain_cleared: str  # the pain-check said no warning sign; the form advice follows


class CheckinTree(Strict):
    entry_points: list[str] = Field(min_length=1)
    red_flag: RedFlag
    pain_check: str  # the node asked when pain is mentioned but unclear
    openings: Openings
    nodes: list[Node] = Field(min_length=1)
    advice: list[Advice] = Field(min_length=1)

    @cached_property
    def node_by_id(self) -> dict[str, Node]:
        return {node.id: node for node in self.nodes}

    @cached_property
    def advice_by_id(self) -> dict[str, Advice]:
        return {advice.id: advice for advice in self.advice}


class Plural(Strict):
    """A sentence whose words depend on a count: one form per CLDR plural category the language has
    (English one/other; Russian one/few/many/other). `format` picks the form like `str.format`
    fills a sentence, so a call site does not care whether a text has forms."""

    plural: str  # the placeholder whose number picks the form
    zero: str | None = None
    one: str | None = None
    two: str | None = None
    few: str | None = None
    many: str | None = None
    other: str
    _language: str = PrivateAttr(default=BASE_LANGUAGE)  # set by the loader for the file's language

    def form(self, count: float) -> str:
        return getattr(self, plural_category(self._language, count)) or self.other

    def format(self, **values: object) -> str:
        count = values[self.plural]
        return self.form(count if isinstance(count, int | float) else float(str(count))).format(**values)


Text = str | Plural
CommandDescription = Annotated[str, Field(min_length=3, max_length=256)]  # Telegram's limits


class Texts(Strict):
    """Every sentence the bot says that is not coaching content; placeholders in {braces}."""

    _language: str = PrivateAttr(default=BASE_LANGUAGE)  # set by the loader: dates are written its way

    @property
    def language(self) -> str:
        return self._language

    start_intro: str
    start_known: str
    start_paused_note: str
    start_held_note: str
    start_finished: str
    ask_profile: str
    profile_runner: str
    profile_lifter: str
    profile_both: str
    ask_time: str
    time_invalid: str
    ask_timezone: str
    share_location_button: str
    timezone_invalid: str
    shared_location_label: str
    timezone_choices: str
    onboarding_done: str
    help: str
    today_not_started: str
    pause_done: str
    pause_already: str
    resume_done: str
    resume_not_paused: str
    restart_confirm: str
    restart_yes: str
    restart_no: str
    restart_done: str
    restart_cancelled: str
    restart_already: str
    stop_done: str
    stopped_hint: str
    settings_menu: str
    settings_time_button: str
    settings_timezone_button: str
    settings_profile_button: str
    settings_saved: str
    settings_next_lesson: str
    due_today: str
    due_tomorrow: str
    due_on_date: str
    due_in_seconds: Text
    name_fallback: str
    error_press: str
    error_message: str
    not_enrolled: str
    unknown_command: str
    unexpected_message: str
    button_expired: str
    access_private_only: str
    access_start_again: str
    access_members_only: str
    lesson_day_label: str
    lesson_drills_heading: str
    lesson_down_heading: str
    lesson_up_heading: str
    lesson_why_heading: str
    lesson_runner_heading: str
    lesson_lifter_heading: str
    graduation_heading: str
    path_ahead_heading: str
    adapt_regress: str
    adapt_activate: str
    adapt_progress: str
    advice_do_heading: str
    advice_drills_heading: str
    advice_cues_heading: str
    checkin_reminder: str
    checkin_ambiguous: str
    checkin_unknown: str
    checkin_recorded: str
    checkin_already: str
    checkin_expired: str
    checkin_not_yours: str
    fix_question: str
    fix_yes: str
    fix_partly: str
    fix_no: str
    fix_thanks: str
    hold_note: str
    hold_ok_button: str
    hold_resumed: str
    hold_not_held: str
    hold_reminder: str
    hold_restart_button: str
    hold_restarted: str
    checkins_heading: str
    checkins_line: str
    checkins_helped: str
    checkins_empty: str
    cue_pick_topic: str
    cue_lesson_heading: str
    cue_checkin_heading: str
    cue_results_heading: str
    cue_not_found: str
    cue_drills_label: str
    cue_topic_down: str
    cue_topic_up: str
    cue_topic_brace: str
    cue_topic_back: str
    cue_topic_knees: str
    cue_topic_glutes: str
    cue_topic_running: str
    drill_ask_name: str
    drill_not_found: str
    drill_dose_label: str
    drill_how_heading: str
    drill_faults_heading: str
    drill_cues_heading: str
    log_help: str
    log_saved: str
    log_bodyweight: str
    log_no_exercise: str
    log_no_reps: str
    log_bad_numbers: str
    log_out_of_range: str
    log_negative: str
    log_bad_digits: str
    log_pick_gone: str
    log_unknown_exercise: str
    log_suggestions: str
    log_felt_question: str
    log_felt_clean: str
    log_felt_back: str
    log_felt_saved: str
    log_undone: str
    log_undone_each: str
    log_nothing_to_undo: str
    advice_stop: str
    advice_back_off: str
    advice_back_off_bodyweight: str
    advice_deload: Text
    advice_deload_bodyweight: str
    advice_increase: str
    advice_increase_bodyweight: str
    advice_hold: str
    advice_hold_bodyweight: str
    advice_grind: str
    advice_grind_bodyweight: str
    advice_hard: str
    advice_hard_bodyweight: str
    progress_empty: str
    progress_none_for: str
    progress_unknown: str
    progress_summary_weight: str
    progress_summary_reps: str
    chart_top_set: str
    chart_volume: str
    chart_reps: str
    chart_clean: str
    chart_back: str
    chart_e1rm: str
    log_saved_each: str
    log_effort: str
    log_e1rm: str
    record_new: str
    record_heaviest: str
    record_reps_one: str
    record_reps_many: Text
    record_e1rm: str
    record_volume: str
    record_volume_reps: str
    records_heading: str
    records_heaviest_line: str
    records_e1rm_line: str
    records_volume_line: str
    records_volume_reps_line: str
    records_formula: str
    records_empty: str
    records_unknown: str
    plates_help: str
    plates_invalid: str
    plates_exact: str
    plates_empty_bar: str
    plates_not_exact: str
    plates_option: str
    plates_below_bar: str
    plates_bar_saved: str
    plates_button: str
    rest_help: str
    rest_started: str
    rest_cancel_button: str
    rest_cancelled: str
    rest_nothing: str
    rest_over: str
    rest_button: str
    export_csv_caption: Text
    export_csv_empty: str
    import_too_big: str
    import_bad_encoding: str
    import_bad_header: str
    import_bad_row: str
    import_bad_row_shape: str
    import_too_many_rows: str
    import_download_failed: str
    import_done: Text
    import_nothing_new: str
    import_skipped_exercises: str
    import_skipped_warmups: Text
    import_skipped_known: Text
    units_question: str
    units_kg_button: str
    units_lb_button: str
    units_saved: str
    weekly_on: str
    weekly_off: str
    weekly_on_button: str
    weekly_off_button: str
    weekly_nudge: str
    weekly_last_entry: str
    weekly_no_entry: str
    export_caption: str
    forget_confirm: str
    forget_yes: str
    forget_no: str
    forget_done: str
    forget_cancelled: str
    group_welcome: str
    group_admins_only: str
    group_usage: str
    group_started: str
    group_defaults_note: str
    group_updated: str
    group_resumed: str
    group_next_lesson: str
    group_time_invalid: str
    group_zone_choices: str
    group_paused: str
    group_pause_already: str
    group_resume_not_paused: str
    group_stopped: str
    group_not_started: str
    group_is_stopped: str
    group_held: str
    group_released: str
    group_not_held: str
    group_here_topic: str
    group_here_general: str
    group_here_no_topics: str
    group_topic_gone: str
    group_link_button: str
    group_tally: str
    group_alert_tip: str
    group_alert_followup: str
    group_alert_red_flag: str
    group_private_question: str
    group_link_expired: str
    group_offer_course: str
    group_summary_heading: str
    group_summary_answers: str
    group_summary_answer_line: str
    group_summary_no_answers: str
    group_summary_no_question: str
    group_summary_not_yet: str
    group_summary_red_flags: str
    group_summary_red_flag_line: str
    group_summary_missing: str
    group_summary_all_in: str
    group_summary_trend: str
    group_summary_trend_line: str
    group_summary_sent: str
    group_summary_start_me: str
    group_summary_admins_only: str
    group_summary_to_admins: str
    group_digest_heading: str
    group_commands_here: str
    language_ask: str
    language_saved: str
    group_language_set: str
    group_language_unknown: str
    # Telegram's own surfaces, set per language at start-up: the profile and the command menus
    bot_description: str = Field(max_length=512)
    bot_short_description: str = Field(max_length=120)
    miniapp_menu_button: str
    miniapp_coach_button: str
    command_today: CommandDescription
    command_cue: CommandDescription
    command_drill: CommandDescription
    command_checkins: CommandDescription
    command_settings: CommandDescription
    command_language: CommandDescription
    command_pause: CommandDescription
    command_resume: CommandDescription
    command_restart: CommandDescription
    command_stop: CommandDescription
    command_help: CommandDescription
    command_log: CommandDescription
    command_progress: CommandDescription
    command_undo: CommandDescription
    command_records: CommandDescription
    command_plates: CommandDescription
    command_rest: CommandDescription
    command_export: CommandDescription
    command_forget: CommandDescription
    command_units: CommandDescription
    command_weekly: CommandDescription
    command_groupcourse: CommandDescription
    command_summary: CommandDescription
    # `coach demo`'s own words in the terminal, around the bot's messages
    demo_banner: str
    demo_coach: str
    demo_coach_edited: str
    demo_you: str
    demo_opens: str
    demo_links_heading: str
    demo_link_course: str
    demo_link_coach: str
    demo_link_operator: str
    demo_person: str
    demo_group_title: str
    demo_bye: str
    # /stats and `coach stats`: the operators' report (plain text) and its chart
    stats_heading: str
    stats_people: str
    stats_logging: str
    stats_reached: str
    stats_answers: str
    stats_answers_day: str
    stats_advice: str
    stats_advice_line: str
    stats_unmatched: str
    stats_none_yet: str
    stats_chart_reached: str
    stats_chart_answers: str
    stats_chart_clean: str
    stats_chart_back: str
    stats_chart_other: str
    stats_chart_day: str


# ----------------------------------------------------------------------------- the check-in reader's words

RegionId = Literal[
    "hams",
    "glutes",
    "lower-back",
    "upper-back",
    "neck",
    "quads",
    "knees",
    "inner-thigh",
    "hip-flexor",
    "calves",
    "feet",
    "grip",
    "pelvic-floor",
    "hips",
    "core",
    "legs",
    "chest",
    "head",
    "arms",
]
SensationId = Literal[
    "stretch",
    "burn",
    "sore",
    "tight",
    "pain",
    "sharp",
    "shooting",
    "numb",
    "tingling",
    "electric",
    "swelling",
    "dizzy",
    "chest-pain",
    "buzz",
    "stabbing",
    "heavy",
    "weak",
    "pressure",
    "visible",
    "dragging",
]
EventId = Literal[
    "pulled",
    "tweaked",
    "strained",
    "popped",
    "snapped",
    "tore",
    "twanged",
    "cracked",
    "gave-way",
    "locked",
    "went",
    "grabbed",
    "put-out",
    "spasm",
    "injured",
    "gave",
]
TimeId = Literal["still", "next-day", "lasting", "whenever", "unresolved", "worse", "recurring"]
QualityId = Literal["fine", "steady", "quiet", "asleep", "good-pain", "little", "right-place", "tight-range"]
MovementId = Literal["rounded", "drifted", "squatted", "turned", "hip-out", "foot-lost", "hips-rose"]
AnswerId = Literal["yes", "no", "unsure", "both", "query"]
Phrases = list[str]


class Negation(Strict):
    words: Phrases = Field(min_length=1)
    little: Phrases = []  # negation words that, denying nothing after them, mean "felt little"
    after: Phrases = []  # words that deny the word before them: "pain free"
    phrases: Phrases = []  # phrases that deny what follows like "not": "used to", "worried", "refuse to"
    inability: Phrases = []  # before "not" they make it an inability: "couldn't walk" is no denial
    until: Phrases = []  # a few words before "не" they make it "until": "пока нога не подломилась" says it did
    ends: Phrases = []
    joins: Phrases = []
    places: Phrases = []
    fillers: Phrases = []


class Guard(Strict):
    """A bare word that names a body part only beside these words (or alone)."""

    before: Phrases = []
    after: Phrases = []
    alone: bool = True


class Intensity(Strict):
    more: Phrases = []
    less: Phrases = []


class Hardship(Strict):
    """Everyday tasks that only severe pain stops, and the words that say they were stopped:
    each `before` word ahead of a task, and each task ahead of an `after` word, is severe pain."""

    tasks: Phrases = []
    before: Phrases = []
    after: Phrases = []


class Harsh(Strict):
    """Parts that carry no training load, and words that said of them mean severe pain: each part
    ahead of each word ("back's in bits", "neck screaming", "knee is pure murder") is severe pain.
    The working muscles are left out: "hams were screaming" is a hard set."""

    parts: Phrases = []
    words: Phrases = []


class Sarcasm(Strict):
    """Words that turn praise around. With a problem part named, `markers` ("oh brilliant",
    "living the dream") mean it went badly unless the part is said to be fine; `inverting` ones
    (an upside-down smile) mean it went badly even then."""

    markers: Phrases = []
    inverting: Phrases = []


class MiniAppTexts(Strict):
    """Every sentence of the Mini App's pages in one language (content/miniapp.yaml); plain text,
    placeholders in {braces} filled in by the page."""

    loading: str
    refused_unsigned: str
    refused_forbidden: str
    load_failed: str
    nav_mine: str
    nav_operator: str
    learner_title: str
    course_day: str
    course_not_started: str
    status_active: str
    status_paused: str
    status_held: str
    status_stopped: str
    status_finished: str
    next_lesson: str
    no_next_lesson: str
    checkins_heading: str
    checkins_none: str
    checkin_day: str
    checkin_advice: str
    fix_yes: str
    fix_partly: str
    fix_no: str
    fix_unknown: str
    progress_heading: str
    progress_none: str
    progress_pick: str
    progress_axis: str
    progress_axis_reps: str
    progress_tap: str
    session_line: str
    session_body_weight: str
    felt_clean: str
    felt_regress: str
    session_effort: str
    session_checkin: str
    settings_heading: str
    setting_time: str
    setting_zone: str
    setting_units: str
    setting_weekly: str
    setting_paused: str
    setting_save: str
    setting_saved: str
    setting_unchanged: str
    setting_bad_time: str
    setting_bad_zone: str
    setting_many_zones: str
    setting_not_started: str
    coach_title: str
    coach_not_started: str
    funnel_heading: str
    col_day: str
    col_sent: str
    col_answered: str
    col_clean: str
    col_lower_back: str
    col_other_faults: str
    col_red_flags: str
    funnel_sent_note: str
    attention_heading: str
    attention_red_flag: str
    attention_silent: str
    attention_none: str
    trend_heading: str
    csv_button: str
    csv_name: str
    csv_question: str
    csv_answer: str
    csv_advice: str
    csv_fix_helped: str
    csv_fix_yes: str  # the column's values: did the fix help, in the coach's words
    csv_fix_partly: str
    csv_fix_no: str
    csv_answered_at: str
    operator_title: str
    cohorts_heading: str
    cohort_group: str
    cohort_private: str
    cohort_started: str
    outcomes_heading: str
    col_advice: str
    col_given: str
    col_next_clean: str
    col_next_same: str
    col_next_other: str
    col_next_red: str
    col_next_none: str
    col_helped: str
    unread_heading: str
    unread_none: str
    col_when: str
    col_question: str
    col_how: str
    col_text: str
    unread_asked: str
    unread_pain: str


class Scores(Strict):
    """How a pain score out of ten is said: the words between the two numbers ("out of", "de",
    "из"; "/" always counts) and the numbers written as words."""

    of: Phrases = []
    numbers: dict[str, int] = {}


class Reactions(Strict):
    """A cry that tells severe pain when the person made it: after one of `persons` ("I screamed",
    "heard me scream") or at the start of a clause ("screamed when I stood up"), and not aimed
    elsewhere (`not_before`: "screamed at my dog", "screamed yes")."""

    words: Phrases = []
    persons: Phrases = []
    not_before: Phrases = []


class Travel(Strict):
    """Pain said to move along the body: `verbs` ("travelling", "spreading") or an `origin` ("from")
    followed by a `route` word ("down", "into", "to") and a body part."""

    verbs: Phrases = []
    origins: Phrases = []
    routes: Phrases = []
    # Words that may stand between a verb and its route ("spreading all the way down").
    hedges: Phrases = []
    # Words before a verb that make it the person moving ("when I go from my toes to my heels").
    movers: Phrases = []


class Scope(Strict):
    """Whose injury, and when. Signs said of someone else ("my husband pulled his back") or of an
    old injury said to be over ("tore it years ago, fully healed") are not today's red flags; a
    `returned` word anywhere in the message ("again", "flared up") keeps every sign, and so does a
    sign the writer is the subject of ("my mate said I pulled something")."""

    # People other than the writer, and their possessives: the nearest person before a sign is its subject.
    others: Phrases = []
    # The writer ("i", "my", "me"): a sign after one of these is the writer's own.
    selves: Phrases = []
    # Verbs of saying: after one, the sign is reported, not someone else's ("mate reckons it's pulled").
    hearsay: Phrases = []
    # Long ago ("years ago", "last year"): sets aside the signs of its own list item.
    past: Phrases = []
    # Said to be over ("fully healed", "all sorted now"): its own list item and the one before it.
    healed: Phrases = []
    # A problem back again ("again", "came back"): nothing is set aside.
    returned: Phrases = []
    # Today ("today", "now"): what follows one is not long over ("a disc years ago, and now my leg is numb").
    present: Phrases = []

    @model_validator(mode="after")
    def _whole(self) -> Scope:
        """Half a scope would misread: someone else's signs need the writer's words to end them, and
        an old injury needs the words that say it came back."""
        if self.others and not self.selves:
            raise ValueError("scope.others needs scope.selves (the writer's own words end another's sign)")
        if (self.past or self.healed) and not self.returned:
            raise ValueError("scope.past and scope.healed need scope.returned (an old problem back is a red flag)")
        return self


class Screen(Strict):
    """The injury screen's weights (bot/domain/injury_screen.py): `<language>.screen.json` beside
    the lexicon, generated by benchmarks/injury_screen.py from the labelled corpora, never by hand."""

    language: str = Field(pattern=r"^[a-z]{2}$")
    trained_on: list[str] = Field(min_length=1)  # the corpus files, none of them held out
    threshold: float
    bias: float
    weights: dict[str, float] = Field(min_length=1)


class Lexicon(Strict):
    """How people write about a workout in one language: the words the check-in reader knows."""

    language: str = Field(pattern=r"^[a-z]{2}$")
    # A Snowball stemmer ("spanish", "russian") for languages whose words change their endings:
    # phrases are then listed in base words and match every inflected form.
    stemmer: str | None = None
    # Messages typed in Latin letters are read back in this language's script first ("spina bolit"
    # as "спина болит"; bot/domain/translit.py has the Russian chat spellings).
    romanized: bool = False
    symbols: dict[str, str] = {}
    contractions: dict[str, str] = {}
    spellings: dict[str, str] = {}
    skip: Phrases = []
    not_typos: Phrases = []
    negation: Negation
    guards: dict[str, Guard] = {}
    regions: dict[RegionId, Phrases]
    sensations: dict[SensationId, Phrases]
    events: dict[EventId, Phrases]
    paths: Phrases = []
    travel: Travel = Travel()
    reactions: Reactions = Reactions()
    sides: Phrases = []
    breaks: Phrases = []
    objects: Phrases = []
    pronouns: Phrases = []
    times: dict[TimeId, Phrases]
    severity: Phrases = Field(min_length=1)
    severe_score: int = Field(ge=1, le=10)
    scores: Scores = Scores()
    hardship: Hardship = Hardship()
    harsh: Harsh = Harsh()
    sarcasm: Sarcasm = Sarcasm()
    scope: Scope = Scope()
    intensity: Intensity
    qualities: dict[QualityId, Phrases]
    movements: dict[MovementId, Phrases]
    answers: dict[AnswerId, Phrases]
    ignore: Phrases = []
    # Words after a movement word that make it a movement, not a pain: "knees kept shooting forward".
    directions: Phrases = []
    # Words before a part that name one side of it: "left leg went weak".
    one_side: Phrases = []
    # Not written in the YAML: the injury screen read from `<language>.screen.json`, when there is one.
    screen: Screen | None = None

    @field_validator("stemmer")
    @classmethod
    def _known_stemmer(cls, name: str | None) -> str | None:
        if name is not None and name not in snowballstemmer.algorithms():
            raise ValueError(f"unknown stemmer '{name}'; known: {', '.join(snowballstemmer.algorithms())}")
        return name


class ExerciseName(Strict):
    """How a language names an exercise /log knows: its own name, and what people type for it."""

    name: str | None = None  # None: the drill's name from drills.yaml
    aliases: list[str] = []


class ExerciseNames(Strict):
    """`content/<language>/exercises.yaml`: the lifts' names in that language (English names are
    bot/domain/training.py's, and stay understood in every language)."""

    exercises: dict[str, ExerciseName]


class Content(Strict):
    """Everything in `content/`, cross-checked; lookups by id are dictionaries."""

    course: Course
    lessons: tuple[Lesson, ...]
    drills: dict[str, Drill]
    cues: dict[str, Cue]
    checkin: CheckinTree
    texts: Texts
    lexicons: dict[str, Lexicon]  # language -> the check-in reader's words
    exercise_names: dict[str, ExerciseName] = {}  # a translation's names for /log, beside the English ones
    miniapp: MiniAppTexts  # the Mini App's sentences (content/miniapp.yaml, one per language tree)

    @property
    def days(self) -> int:
        return len(self.lessons)

    def lesson(self, day: int) -> Lesson:
        return self.lessons[day - 1]

    def question_of(self, day: int) -> str | None:
        """The check-in question the lesson of `day` opens: None when it asks none, or past the last day."""
        return self.lesson(day).checkin if 1 <= day <= self.days else None
