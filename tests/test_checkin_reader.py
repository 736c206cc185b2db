"""The check-in reader: what a coach hears in a typed answer, and the outcome it calls for.

The tricky cases quoted in issue 12 and others like them, every red-flag row of both corpora, and
the lexicon's validation (file:line errors like the rest of content/)."""

import pytest

from benchmarks.checkin_accuracy import CORPORA, load_rows
from bot.app import CONTENT_DIR
from bot.content import ContentError, load_content
from bot.domain.reader import Kind, Outcome, Reader, decide
from tests.test_content import _broken_copy, _line_of

CONTENT = load_content(CONTENT_DIR)
READER = Reader(CONTENT.lexicons["en"])
# The rules alone, without the injury screen behind them: the tricky cases are about how the rules
# read a message (tests/test_injury_screen.py covers what the screen adds).
RULES = Reader(CONTENT.lexicons["en"].model_copy(update={"screen": None}))

FELT, SINGLE, WHY, CHECK = "felt-where", "felt-where-single-leg", "lower-back-why", "pain-check"
RED, SAFETY, ASK, NO_FLAG = Outcome.RED_FLAG, Outcome.SAFETY_QUESTION, Outcome.ASK, Outcome.NO_RED_FLAG

TRICKY = [
    # injury reports that slipped through: a strain named by its muscle, a sudden event, pain that stays,
    # severe pain in everyday words
    (FELT, "strained my glute", RED),
    (FELT, "I think I strained my left hammy", RED),
    (FELT, "felt something give", RED),
    (FELT, "felt something go in my back on rep 6", RED),
    (FELT, "a crack in my back", RED),
    (FELT, "heard a crack in my knee", RED),
    (FELT, "sore for a week now", RED),
    (FELT, "my back's been sore all week", RED),
    (FELT, "hasn't settled since the weekend", RED),
    (FELT, "still not settled since saturday", RED),
    (FELT, "could barely get out of the car after", RED),
    (FELT, "couldn't put my socks on this morning", RED),
    (FELT, "no sharp pain but my lower back is killing me", RED),
    (FELT, "twanged my hamstring", RED),
    (FELT, "my knee gave way", RED),
    (FELT, "pain's 8/10", RED),
    (FELT, "tingly toes", RED),
    (FELT, "numbnes down my leg", RED),
    # false alarms on ordinary words
    (FELT, "my hips kept shooting up first", ASK),
    (FELT, "felt sharp and focused", ASK),
    (FELT, "felt sharp and focused, glutes doing the work", "hams-glutes"),
    (FELT, "pulled 80kg off the floor, hams did it", "hams-glutes"),
    (FELT, "tweaked my stance, glutes felt it more", "hams-glutes"),
    (FELT, "cracked it today, pb!", ASK),
    (FELT, "killed it", ASK),
    (FELT, "glutes were on fire in a good way", "hams-glutes"),
    (FELT, "grip gave out before my legs", "grip"),
    # negation covers the whole list, and only the list
    (FELT, "no numbness, tingling or pain, hams just tired", "hams-glutes"),
    (FELT, "no pins and needles or sharp pain, hams just tired", "hams-glutes"),
    (FELT, "no pain in my back or knees, all hamstrings", "hams-glutes"),
    (FELT, "didn't feel it in my back this time, all glutes", "hams-glutes"),
    (FELT, "not in my back, in my glutes", "hams-glutes"),
    (FELT, "no tingling but my foot went numb", RED),
    (FELT, "nothing sharp, lower back just tired", "lower-back"),
    # faults read as success
    (FELT, "Glutes were lazy", "nothing-much"),
    (FELT, "glutes not firing at all", "nothing-much"),
    (FELT, "couldn't feel my glutes, quads did everything", "quads-knees"),
    (FELT, "hams fine but knees shot forward", "quads-knees"),
    (FELT, "hamstrings way too tight to get low", "tight-hams"),
    # regions the brief does not cover, phrases it lacks, apostrophes
    (FELT, "upper back", "upper-back"),
    (FELT, "between my shoulder blades", "upper-back"),
    (FELT, "neck was tight from looking up", "neck"),
    (FELT, "inner thighs", "inner-thigh"),
    (FELT, "hip flexors", "hip-flexor"),
    (FELT, "calves", "calves"),
    (FELT, "grip", "grip"),
    (FELT, "rear of my thighs", "hams-glutes"),
    (FELT, "my back's sore", "lower-back"),
    (FELT, "back’s tired", "lower-back"),
    (FELT, "came back from a run and did them, hams", "hams-glutes"),
    # needless questions: clear to a human
    (FELT, "mostly hams, a touch of lower back", "lower-back"),
    (FELT, "hammies and a little bit of lower back", "lower-back"),
    (FELT, "quads, tight hamstrings", ASK),
    # pain mentioned but unclear
    (FELT, "my lower back hurt a bit", SAFETY),
    (FELT, "bit of pain in the hams", SAFETY),
    (FELT, "it was kinda painful", SAFETY),
    (FELT, "a twinge in my back", SAFETY),
    (SINGLE, "my standing knee hurt a little", SAFETY),
    # day 5
    (SINGLE, "hip kept kicking out", "hip-popped"),
    (SINGLE, "knee caved in", "hip-popped"),
    (SINGLE, "wobbly and my arch collapsed", "foot-lost"),
    (SINGLE, "my body twisted open", "turned-away"),
    (SINGLE, "felt it in the standing glute, nice and stable", "standing-glute"),
    (SINGLE, "rolled my ankle and it swelled up", RED),
    # why the back worked
    (WHY, "didn't round, the bell floated out in front", "drifted"),
    (WHY, "back rounded, no pain", "rounded"),
    (WHY, "a bit of both", "not-sure"),
    # the pain-check
    (CHECK, "yeah sharp", RED),
    (CHECK, "it's still there", RED),
    (CHECK, "a bit tingly", RED),
    (CHECK, "no just a dull ache while lifting", NO_FLAG),
    (CHECK, "nope gone now", NO_FLAG),
    (CHECK, "nah nothing like that", NO_FLAG),
    (CHECK, "no, but it's still there today", RED),
    # the same word on a limb and on the working muscles
    (FELT, "foot buzzing since the last set", RED),
    (FELT, "hams buzzing, great pump", "hams-glutes"),
    (FELT, "calf went to sleep on me", RED),
    (FELT, "glutes asleep again", "nothing-much"),
    # a score beside only the working muscles rates the session; beside a problem part it is pain
    (FELT, "9/10 session, glutes smoked", "hams-glutes"),
    (FELT, "back was a 9/10", RED),
    # severe pain told by a task it stopped, and the same task done with ease
    (FELT, "could not put my shoes on after", RED),
    (FELT, "put my shoes on and went for a walk, hams tired", "hams-glutes"),
    # a denied list keeps its items: "or nothing" closes it, "sore back" is one item of it
    (FELT, "nae tingles, sore back or nothin, just hams", "hams-glutes"),
    # the classes blind set C showed. Radiating pain told as travel along the body:
    (FELT, "pain travelling from my lower back down to behind the knee", RED),
    (FELT, "pain moving from my back down into my calf", RED),
    (FELT, "the pain was spreading from my lower back into my bum", RED),
    (FELT, "a pain going from my hip down to my knee", RED),
    (FELT, "pain running down the back of my leg to behind the knee", RED),
    (FELT, "sharp pain that travelled into my buttock and down", RED),
    (FELT, "pain from my lower back all the way to my foot", RED),
    (FELT, "pain starting in my back and ending in my calf", RED),
    (FELT, "hams worked, the stretch went all the way down to my knees", "hams-glutes"),
    (FELT, "the burn moved from my glutes to my hams", "hams-glutes"),  # effort spreading
    (FELT, "lower back pain when moving the bell", SAFETY),  # moving, but not along the body
    (FELT, "back hurt a little when moving the bell from my knees to my hips", SAFETY),
    (FELT, "pain when I go from my toes to my heels", SAFETY),  # the person moving
    # an acute event with the muscle as the one acting
    (FELT, "hamstring grabbed on me mid rep and I dropped the bell", RED),
    (FELT, "my back caught on the third rep", RED),
    (FELT, "calf seized on me during the walk out", RED),
    (FELT, "something went in my hammy on the last rep", RED),
    (FELT, "bent down to put the bell down and it bit", RED),
    (FELT, "my knee gave out on me", RED),
    (FELT, "caught the bell nicely at the top, hams worked", "hams-glutes"),
    (FELT, "the bell caught on my shorts on the way down, hams worked", "hams-glutes"),
    (FELT, "hams a bit tight", "tight-hams"),
    # severity told by how the person reacted
    (FELT, "I literally screamed bending to pick up the bell", RED),
    (FELT, "I yelped when I stood up", RED),
    (FELT, "cried out on the last rep, lower back", RED),
    (FELT, "brought tears to my eyes when I bent over", RED),
    (FELT, "saw white when my back went", RED),
    (FELT, "had to drop the bell, my back", RED),
    (FELT, "couldn't finish the set for the pain", RED),
    (FELT, "screamed when I stood up", RED),  # a cry at the start of a clause is the person's
    (FELT, "my wife heard me scream", RED),
    (FELT, "I shouted out in pain", RED),
    (FELT, "couldn't even finish the rep it hurt so much", RED),
    (FELT, "hams were screaming, loved it", "hams-glutes"),
    (FELT, "my hams screamed on the last set", "hams-glutes"),  # a muscle's cry is effort
    (FELT, "I screamed at my dog, hams fine", "hams-glutes"),  # a cry aimed elsewhere
    (FELT, "nearly cried laughing, hams were fine", "hams-glutes"),
    (FELT, "hammies and traps, the traps fried from carrying two 20s", "upper-back"),  # not "crying"
    (FELT, "coach yelled at me to keep my back flat, hams worked", "hams-glutes"),
    (FELT, "had to drop the weight down to 8kg, hams still smoked", "hams-glutes"),
    # a body part sent in a direction moves, unless pain is said with it
    (FELT, "quads were burning and my knees kept shooting past my toes", "quads-knees"),
    (FELT, "knees shooting over my toes every rep", "quads-knees"),
    (FELT, "knees kept shooting out in front of me", "quads-knees"),
    (FELT, "pain shooting over the top of my foot", RED),
    (FELT, "my knees kept shooting way past my toes", "quads-knees"),
    (FELT, "hips shooting back and knees shooting forward", "quads-knees"),
    (SINGLE, "my ankle kept turning out and I fell over twice", "foot-lost"),
    # losing balance is a lost foot; a rolled ankle that hurts or swells is a sprain
    (SINGLE, "kept falling over, dead wobbly, ankle rolling", "foot-lost"),
    (SINGLE, "ankle kept rolling out, no pain, just balance", "foot-lost"),
    (SINGLE, "rolled my ankle and it hurts", RED),
    (SINGLE, "rolled my ankle, it's swollen", RED),
    (SINGLE, "went over on my ankle and it's really painful", RED),
    # an answer that starts with a no answers the question; a sign after it is still a sign
    (CHECK, "no, all fine this morning", NO_FLAG),
    (CHECK, "no, just aching a bit", NO_FLAG),
    (CHECK, "no, the soreness was gone by this morning", NO_FLAG),
    (CHECK, "no, but it's numb now", RED),
    (CHECK, "no, still sore today", RED),
    (CHECK, "no. tingling in my foot though", RED),
    # smaller ones: a part said to be fine, dead = tired hands, achilles, pelvic pressure, a torso
    # opening, a range the hamstrings cut short, other parts and "mostly" on the why question
    (FELT, "hams sore the next day, the normal DOMS kind, lower back totally fine", "hams-glutes"),
    (FELT, "forearms were absolutely dead from holding the bells", "grip"),
    (FELT, "backs of my ankles, achilles area, just tight", "calves"),
    (FELT, "felt a heaviness down below, like pressure in my pelvis", "pelvic-floor"),
    (SINGLE, "torso opened up to the side every rep", "turned-away"),
    (FELT, "my range is tiny, back of legs won't let me go down", "tight-hams"),
    (FELT, "hamstrings wouldn't let me go any lower", "tight-hams"),
    (WHY, "both, but mostly the weight drifted", "drifted"),
    (WHY, "it was more my upper back to be honest", "upper-back"),
    (WHY, "neck mostly, not the lower back", "neck"),
    # pain scores in words
    (FELT, "lower back pain, eight out of ten", RED),
    (FELT, "8 out of 10 reps felt good in my hams", "hams-glutes"),
    # blind-D classes (issue 12). Negation over a list, over "X? no." pairs, "nothing X", "without any X",
    # "zero X", "free of X": no alarm.
    (FELT, "didn't feel anything tear, pop or twang, hams just worked", "hams-glutes"),
    (FELT, "did not notice anything snap or pull, glutes cooked", "hams-glutes"),
    (FELT, "tingling? no. numb? nope. hams? fried", "hams-glutes"),
    (CHECK, "sharp? no. shooting? no. still sore? nah", NO_FLAG),
    (CHECK, "nothing shooting, nothing tingly, and it cleared up by the morning", NO_FLAG),
    (FELT, "hams tired, without any numbness or pins and needles", "hams-glutes"),
    (FELT, "zero tingling, zero sharpness, glutes on fire", "hams-glutes"),
    (FELT, "not tingly just knackered, hams did it all", "hams-glutes"),
    (CHECK, "wasn't shooting at all", NO_FLAG),
    (CHECK, "no it's all fine now", NO_FLAG),
    (CHECK, "no its fine this morning", NO_FLAG),
    # double negatives that affirm
    (FELT, "I wouldn't say it didn't tingle, because it did", RED),
    (FELT, "not that it wasn't numb down there, it was", RED),
    (FELT, "can't say it wasn't sharp in my back", RED),
    # figurative and non-body senses
    (FELT, "my mind went numb doing the count but glutes were cooking", "hams-glutes"),
    (FELT, "the 'pop your hips' cue finally clicked, hams on fire", "hams-glutes"),
    (FELT, "weak in the knees after seeing my PR lol, hams did the work", "hams-glutes"),
    (FELT, "snapped a pic of my hinge, back looked straight, hams lit", "hams-glutes"),
    (FELT, "blew up my grip on the last set, forearms done", "grip"),
    (FELT, "pelvic floor: no leaks this time, felt it in the hams", "hams-glutes"),
    # anatomical terms, persistence with a hedge, spasms that hold, event metaphors, tenderness
    (FELT, "felt my L4 go clunk at the top", RED),
    (FELT, "SI joint locked on the last rep", RED),
    (FELT, "my piriformis is pinching the nerve again", RED),
    (FELT, "probably nothing but my lower back is still pulsing, 3 days now", RED),
    (FELT, "my hammy hasn't been right since friday", RED),
    (FELT, "it's been a week and my glute still isn't right", RED),
    (FELT, "calf cramped into a knot and wouldn't let go", RED),
    (FELT, "like someone flicked an elastic band in my glute", RED),
    (FELT, "back of my leg is tender to the touch", RED),
    (FELT, "my hamstring hurts when I press on it", RED),
    (FELT, "the left side of my bum and down the leg feels like it's asleep", RED),
    (FELT, "hams tender to touch, normal doms", "hams-glutes"),
    (FELT, "my hamstring feels like it's asleep", "nothing-much"),
    # a knee caving on one leg
    (SINGLE, "standing knee kept diving in toward the other knee", "hip-popped"),
]


# Red flags as a tier of their own (issue 12, the classes blind set B showed): each row is a
# wording written for this table, per class; none may end anywhere but the safety answer.
RED_FLAG_CLASSES = [
    (FELT, "hams good, then my left foot went all prickly"),
    (FELT, "glutes worked but my toes are fizzing"),
    (FELT, "hamstrings mostly. also a weird buzzing in my right foot since"),
    (FELT, "lower back, and my hand keeps getting zaps"),
    (FELT, "electric zaps down my leg on the way up"),
    (FELT, "got a dead leg feeling on the left after set 2"),
    (FELT, "my right leg went weak on the last rep"),
    (FELT, "cant feel my toes properly"),
    (FELT, "couldn't feel my left foot for a bit after"),
    (FELT, "pins in my toes"),
    (FELT, "needles in my calf"),
    (FELT, "pinsandneedles in foot"),
    (FELT, "my arm feels heavy and weird"),
    (FELT, "glutes, and my left arm is kinda weak now"),
    (FELT, "right foot a bit weak and slappy when i walk"),
    (FELT, "tingles down the back of my leg"),
    (FELT, "hands went tingly holding the bell"),
    (FELT, "prickly feeling in my heel"),
    (FELT, "chest felt tight and I got breathless"),
    (FELT, "felt light-headed and had to sit down"),
    (FELT, "saw stars after the last set"),
    (FELT, "chucked up after set 3"),
    (FELT, "puked after the swings"),
    (FELT, "felt super nauseous and dizzy"),
    (FELT, "pressure in my chest during set 2"),
    (FELT, "hams fine but got a crushing pain in my chest"),
    (FELT, "blacked out for a sec"),
    (FELT, "room was spinning after"),
    (FELT, "heart was fluttering weird and i felt faint"),
    (FELT, "a pounding headache came on during the last set"),
    (FELT, "jaw and left arm ached after"),
    (FELT, "knee is all puffy now"),
    (FELT, "ankle swelled right up"),
    (FELT, "theres a lump on the back of my knee"),
    (FELT, "calf is black and blue"),
    (FELT, "my knee looks wrong, kind of out of place"),
    (FELT, "back of my thigh has gone purple"),
    (FELT, "hamstring is bruised and swollen"),
    (FELT, "big bruise came up on my hammy overnight"),
    (FELT, "elbow is puffed up like a balloon"),
    (FELT, "felt a rip in my hammy"),
    (FELT, "something went in my lower back"),
    (FELT, "my glute just let go mid rep"),
    (FELT, "like a rubber band snapped in the back of my leg"),
    (FELT, "felt like I got shot in the butt"),
    (FELT, "like being kicked in the calf"),
    (FELT, "heard a clunk in my knee"),
    (FELT, "hamstring went twang"),
    (FELT, "felt a pop behind my knee"),
    (FELT, "something gave in my back on rep 4"),
    (FELT, "heard a crunch in my ankle and it hurts"),
    (FELT, "felt something tear at the top of my hamstring"),
    (FELT, "my back went on the last set"),
    (FELT, "done my hammy i reckon"),
    (FELT, "ive done my back in"),
    (FELT, "something shifted in my back"),
    (FELT, "took me five minutes to get up off the floor"),
    (FELT, "had to crawl to bed"),
    (FELT, "couldnt get my socks on this morning"),
    (FELT, "could not sleep for it last night"),
    (FELT, "had to lie on the floor for an hour"),
    (FELT, "been on painkillers since"),
    (FELT, "icing it for days now"),
    (FELT, "took ibuprofen and it still hurts"),
    (FELT, "walking like a 90 year old"),
    (FELT, "needed help getting out of the car"),
    (FELT, "took forever to stand up straight"),
    (FELT, "it hurts to sit"),
    (FELT, "couldn't sit down without grabbing the table"),
    (FELT, "lower back is back with a vengeance"),
    (FELT, "flared up again today"),
    (FELT, "my old back injury is acting up"),
    (FELT, "same pain as last time in my hamstring"),
    (FELT, "still there four days later"),
    (FELT, "hasnt gone away since tuesday"),
    (FELT, "back still aching three days later"),
    (FELT, "it's been niggling for a week"),
    (FELT, "the knee thing never really went away"),
    (FELT, "keeps coming back every session"),
    (FELT, "its worse than yesterday"),
    (FELT, "more bad today than after the last one"),
    (FELT, "it's stabbing"),
    (FELT, "it stabs when i twist"),
    (FELT, "stabbing pain in my back"),
    (FELT, "felt a knife in my lower back"),
    (FELT, "like a hot needle in my glute"),
    (FELT, "it was sharp when I bent over"),
    (FELT, "sharp pain in my knee"),
    (FELT, "its sharp"),
    (FELT, "shooting pains down my leg"),
    (FELT, "hot poker feeling in the spine"),
    (WHY, "rounded a bit. also it stabs when i turn"),
    (WHY, "not sure. my foot is numb though"),
    (WHY, "drifted i think, but now theres pins and needles in my leg"),
    (SINGLE, "standing ankle went over and now its swollen"),
    (SINGLE, "glute on the standing side felt it, then sharp pain in the knee"),
    (SINGLE, "foot went numb on the standing leg"),
    (
        FELT,
        "mostly hams and glutes, really good session, felt the stretch, kept my back flat, bell close, "
        "nice and smooth, but my left foot went numb",
    ),
    (FELT, "hams, glutes, lower back a bit, quads a bit, but pins and needles in my toes"),
    (FELT, "right foot a bit weak and slappy when i walk"),
    (FELT, "my foot drags when i walk"),
    (FELT, "my left leg went weak"),
    (FELT, "left leg feels weak since"),
    (FELT, "arm went weak"),
    (FELT, "my knee looks wrong"),
    (FELT, "my ankle looks funny and swollen"),
    (FELT, "ankle went fat"),
    (FELT, "thought i was going to be sick"),
    (FELT, "got a horrible twinge and it locked"),
    (FELT, "whole calf is purple"),
    (FELT, "ankle is twice the size"),
]
# Words with a sense that is not pain, and soreness where it belongs: never the safety answer.
NOT_RED_FLAGS = [
    (FELT, "my knees kept shooting forward"),
    (FELT, "hips shot up first again"),
    (FELT, "got up at the crack of dawn to do it, hams worked"),
    (FELT, "popped my hips through hard, glutes on fire"),
    (FELT, "sharp focus today, glutes lit up"),
    (FELT, "snapped out of it and fixed my back, hams felt it"),
    (FELT, "hams sore the next day, normal doms"),
    (FELT, "tight hamstrings"),
    (FELT, "burning hamstrings"),
    (FELT, "hamstrings burning like crazy"),
    (FELT, "glutes popped off today"),
    (FELT, "shot up the weight to 16kg, hams cooked"),
    (FELT, "cracking session, hams fried"),
    (FELT, "legs felt heavy after, hams worked"),
    (FELT, "went heavy today, glutes toast"),
    (FELT, "the bell felt heavy, hams tired"),
    (FELT, "hams still a bit sore two days later, normal"),
    (FELT, "finally clicked, felt it in the glutes"),
    (FELT, "glutes looking ripped lol, hams tired"),
    (FELT, "ripped through the sets, hams smoked"),
    (FELT, "no tingling, no numbness, just tired hams"),
    (FELT, "nothing sharp or shooting, hams stretched"),
    (FELT, "didn't feel anything sharp, hams fine"),
    (FELT, "no pins and needles, glutes worked"),
    (FELT, "pulled the bell hard, glutes did it"),
    (FELT, "shooting for 20 reps next time, hams cooked"),
    (FELT, "my grip was weak by the end"),
    (FELT, "arms tired from holding the bell, hams worked"),
    (FELT, "had an ice bath after, hams sore"),
    (FELT, "glutes felt weak today"),
    (FELT, "my forearms were pumped"),
    (FELT, "sore glutes today, day after"),
    (FELT, "mind numbing drill but glutes worked"),
    (FELT, "sharp improvement, felt hams not back"),
    (FELT, "legs like jelly after, hams cooked"),
    (FELT, "knees shot forward a bit"),
    (FELT, "hips kept shooting back too far, hams felt it"),
    (FELT, "felt sharp and focused, hams worked"),
    (FELT, "er, not sure, hams i guess"),
    (FELT, "I'm confused about the cue but hams worked"),
    (FELT, "been sick all week so missed a day, hams today"),
    (FELT, "up all night with the baby, hams still worked"),
    (FELT, "used a golf ball on my feet after, hams tired"),
    (FELT, "purple band above my knees, glutes burned"),
    (FELT, "my form looks wrong on video, hams though"),
    (FELT, "I have gone fat over winter lol, hams worked"),
    (FELT, "hurled the bell up, glutes fired"),
    (FELT, "played poker after, hams sore"),
    (FELT, "red hot session, glutes lit"),
    (FELT, "no pressure, hams did it"),
    (FELT, "under pressure to finish, glutes"),
    (FELT, "done something different today, hams felt it"),
    (FELT, "something shifted in my technique, hams working"),
    (FELT, "it went like a dream, hams"),
    (FELT, "hams went like clockwork"),
    (FELT, "the session drags a bit but hams worked"),
    (FELT, "blue band round my knees, glutes burned"),
    (FELT, "legs felt weak after 100 swings, hams cooked"),
    (FELT, "shot through the reps, hams fried"),
    (FELT, "the hip pop at the top felt good, glutes"),
    (SINGLE, "weak ankles so i wobbled a lot"),
    (SINGLE, "left ankle a bit weak and wobbly"),
]
RAMBLE = (
    "ok so today was day 3 and honestly it went pretty well overall, I set up the dowel like the video said, "
    "kept my back flat the whole time, bell stayed close to my legs, hams were doing most of the work and my glutes "
    "switched on at the top. Did 3 sets of 10 with the 12kg, rested about a minute between, felt strong, breathing "
    "was fine, no drama with the grip either. Stretched afterwards, had a coffee, walked the dog, made dinner, "
    "watched some telly, and the kids were in bed by eight so all good on that front too, really enjoying it. "
)
# The same sign wherever it stands: first, last, in a list, after "but", past 600 characters.
ANYWHERE = [
    RAMBLE + "Only thing is my left foot went numb on the walk home.",
    RAMBLE * 3 + "and my back went on the last rep",
    "pins and needles in my foot, but hams and glutes felt amazing",
    "hams and glutes felt amazing but pins and needles in my foot",
    "hams, glutes, lower back, calves, numb toes, quads",
    "great session!! hams lit up 🔥🔥 10/10. foot a bit tingly tho",
    "no pain but tingling in my calf",
    "not numb but tingly",
]


@pytest.mark.parametrize(("question", "text"), RED_FLAG_CLASSES, ids=[t[:40] for _, t in RED_FLAG_CLASSES])
def test_every_class_of_red_flag_reaches_the_safety_answer(question, text):
    assert decide(READER.read(text), question).outcome == RED


@pytest.mark.parametrize(("question", "text"), NOT_RED_FLAGS, ids=[t[:40] for _, t in NOT_RED_FLAGS])
def test_words_in_another_sense_and_normal_soreness_raise_no_alarm(question, text):
    assert decide(READER.read(text), question).outcome != RED


@pytest.mark.parametrize("text", ANYWHERE, ids=range(len(ANYWHERE)))
@pytest.mark.parametrize("question", [FELT, SINGLE, WHY])
def test_a_red_flag_outranks_any_region_fault_or_praise_anywhere(question, text):
    assert decide(READER.read(text), question).outcome == RED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (RAMBLE, "hams-glutes"),
        ("no numbness, no tingling, no sharp pain, just worked hams", "hams-glutes"),
        ("nothing stabbing, hams good", "hams-glutes"),
        ("without any zaps or pins, glutes lit up", "hams-glutes"),
        ("legs heavy and tired, hams mostly", "hams-glutes"),
        ("glutes felt weak", "nothing-much"),  # weak working muscles did not do the work: no praise
        ("knees kept shooting forward again", "quads-knees"),
        ("popped my hips through, glutes squeezed hard", "hams-glutes"),
        ("my arms were tired from holding it, hams worked", "hams-glutes"),
    ],
)
def test_near_misses_keep_their_own_outcome(text, expected):
    assert decide(READER.read(text), FELT).outcome == expected


@pytest.mark.parametrize(("question", "text", "expected"), TRICKY, ids=[f"{q}:{t[:40]}" for q, t, _ in TRICKY])
def test_tricky_answers(question, text, expected):
    assert decide(RULES.read(text), question).outcome == expected


def _red_flag_rows(name: str) -> list:
    _language, path = CORPORA[name]
    if not path.exists():
        pytest.skip(f"{path.name} is not on this branch yet")
    return [row for row in load_rows(path) if row.expect == RED]


# The blind sets are measured by the benchmark, not asserted here: they exist to show how far the
# reader generalises, and their misses are the open work (README, "How well it reads").
HELD_TO = ("dev", "held-out")


@pytest.mark.parametrize("corpus", HELD_TO)
def test_every_red_flag_row_reaches_the_safety_answer(corpus):
    missed = [
        (row.q, row.text) for row in _red_flag_rows(corpus) if decide(READER.read(row.text), row.q).outcome != RED
    ]
    assert missed == []


def test_the_development_corpus_is_big_and_varied_enough():
    rows = load_rows(CORPORA["dev"][1])
    assert len(rows) >= 400
    assert sum(row.expect == RED for row in rows) >= 75
    assert sum(row.cat == "near-miss" for row in rows) >= 40


def test_what_a_coach_hears():
    hearing = READER.read("No numbness, tingling or pain. Hams just tired, mostly the left one")
    denied = {m.id for m in hearing.mentions if m.kind == Kind.SENSATION and m.negated}
    assert denied == {"numb", "tingling", "pain"}
    assert not hearing.red_flag and not hearing.pain
    assert hearing.felt["hams"].weight == 1.0 and "burn" in hearing.felt["hams"].sensations
    assert READER.read("pulled my hammy").red_flags == ("event:pulled",)
    assert READER.read("lower back still aching days later").red_flag
    assert not READER.read("hams still sore days later, normal doms").red_flag


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("hamstrigs", "hams"), ("glutez", "glutes"), ("lowerback", "lower-back"), ("quadz", "quads"), ("calfs", "calves")],
)
def test_typos_are_read_as_the_word_meant(typed, meant):
    assert meant in READER.read(typed).felt


@pytest.mark.parametrize("word", ["trained", "painting", "shouting", "numbers", "strange", "tingle-free"])
def test_typo_tolerance_raises_no_alarm_for_ordinary_words(word):
    assert not READER.read(f"{word} today, hams did the work").red_flag


def test_a_phrase_under_two_meanings_is_reported_with_file_and_line(tmp_path):
    root = _broken_copy(tmp_path, "lexicons/en.yaml", "  numb: [numb,", "  numb: [tired, numb,")
    with pytest.raises(ContentError) as caught:
        load_content(root)
    [problem] = caught.value.problems
    assert problem.file == root / "lexicons/en.yaml"
    assert problem.line == _line_of(problem.file, "numb: [tired, numb,")
    assert "'tired' is under both sensations.burn and sensations.numb" in problem.message


def test_an_unknown_region_in_the_lexicon_is_reported(tmp_path):
    root = _broken_copy(tmp_path, "lexicons/en.yaml", "  neck: [neck,", "  nek: [neck,")
    with pytest.raises(ContentError) as caught:
        load_content(root)
    line = _line_of(root / "lexicons/en.yaml", "nek: [neck,")
    assert f"en.yaml:{line}: regions.nek" in str(caught.value)


def test_the_safety_answer_may_not_carry_a_form_cue(tmp_path):
    root = _broken_copy(
        tmp_path, "checkin.yaml", "    cues: []\n    effect: red_flag", "    cues: [long-spine]\n    effect: red_flag"
    )
    with pytest.raises(ContentError) as caught:
        load_content(root)
    line = _line_of(root / "checkin.yaml", "cues: [long-spine]")
    assert f"checkin.yaml:{line}: the safety answer gives no form cue or drill" in str(caught.value)


def test_every_question_can_lead_to_the_pain_check(tmp_path):
    root = _broken_copy(
        tmp_path,
        "checkin.yaml",
        "        next: pain-check\n        button: false",
        "        next: rounded-why\n        button: false",
    )
    with pytest.raises(ContentError) as caught:
        load_content(root)
    assert "node 'felt-where' needs an option 'unclear-pain' with next: pain-check" in str(caught.value)


def test_every_outcome_the_reader_gives_is_an_option_of_its_question():
    nodes = {node.id: {o.id for o in node.options} for node in CONTENT.checkin.nodes}
    rows = load_rows(CORPORA["dev"][1])
    special = {RED, SAFETY, ASK, NO_FLAG}
    for row in rows:
        outcome = decide(READER.read(row.text), row.q).outcome
        assert outcome in special or outcome in nodes[row.q], (row.q, row.text, outcome)


@pytest.mark.parametrize(
    ("first", "leads_to", "opening"),
    [
        ("my lower back hurt a bit", "lower-back-why", "pain_cleared"),  # the back's own question
        ("my calves hurt a bit", "region-calves", "pain_cleared"),  # a region's own answer
        ("knees hurt", "squatting", "pain_cleared"),
        ("bit of pain in the hams", "ease-off", None),  # never praise or more load after pain
        ("it was kinda painful", "ease-off", None),
    ],
)
def test_once_the_pain_check_is_cleared_the_described_fault_gets_its_fix(first, leads_to, opening):
    from bot.domain.checkin import CheckinMatcher, answer_typed

    matcher = CheckinMatcher(CONTENT.checkin, Reader(CONTENT.lexicons["en"]))
    answer = answer_typed(matcher, CHECK, matcher.read(CHECK, "no, just a dull ache"), (FELT, first))
    reached = answer.step.node.id if answer.step.node else answer.step.advice.id
    assert (answer.option, reached, answer.opening) == ("no-red-flag", leads_to, opening)
    assert (
        answer_typed(matcher, CHECK, matcher.read(CHECK, "yeah it's sharp"), (FELT, first)).step.advice.effect
        == "red_flag"
    )


# Issue 14 in English, in words no corpus holds: acute-event idioms and slang, a part named before
# "it", a problem back from last year, a trigger that is not a duration, music that is not a pop, a
# fear of an old injury that did not happen.
ISSUE_14 = [
    (FELT, "think I chucked my back out lifting the kid after", RED),
    (FELT, "felt like a mule kicked my hamstring on the last rep", RED),
    (SINGLE, "felt a tweak deep in the working hamstring and stopped", RED),
    (FELT, "my hammy is busted, tweaked it on the swings", RED),
    (FELT, "same knee problem as last summer came back on the rdls", RED),
    (FELT, "lower back hurts every time I bend over", RED),
    (FELT, "sharp pain every time I bend", RED),
    (FELT, "glutes still aching even lying down tonight", RED),
    (FELT, "put some k pop on and the glutes were firing", "hams-glutes"),
    (FELT, "hams sore every time I sit down, the good DOMS", "hams-glutes"),
    # the hamstrings that "won't let me", the depth named by the knees
    (FELT, "my hammies would not let me get the bell lower than my knees today", "tight-hams"),
    (FELT, "hamstrings won't let me go past my knees yet", "tight-hams"),
    # a good kind of hurt in doubt, a muscle napping, a skull emoji after a worked muscle, "each" in "each set"
    (FELT, "my bum hurt today, can't tell if good hurt or bad hurt", SAFETY),
    (FELT, "glutes were snoozing again, all hamstrings", "nothing-much"),
    (FELT, "hams absolutely smoked 💀 in the best way", "hams-glutes"),
    (FELT, "cracked a joke mid set and felt my glutes fire", "hams-glutes"),
    (WHY, "spine curved at the start of each set", "rounded"),
    (FELT, "had a wee wobble but no pain, glutes did the work", "hams-glutes"),  # Scots "wee" is small
    (FELT, "same issue with my knee as last spring", RED),
    (FELT, "that old back thing is back", RED),
    (FELT, "my knee is playing up like it did last year", RED),
    (FELT, "felt like I got hit by a truck in the lower back", RED),
    (FELT, "was worried my old back injury would flare up but nope, glutes did the work", "hams-glutes"),
    # third round: aids, pain on coughing, a limb that belongs to someone else or is heavy and weak
    (FELT, "had to use crutches to get to the car", RED),
    (FELT, "my lower back hurts when I cough", RED),
    (FELT, "my left arm, heavy and weak since the swings", RED),
    (FELT, "the outside of my shin feels like it belongs to somebody else", RED),
    # and the near-misses: a hard day at work, a click that never hurt, hamstrings that would tear if
    # pushed, a part shot somewhere, a session murdered, a problem that is over, a denial before a fault
    (FELT, "the boss is killing me this week, glutes did the work though", "hams-glutes"),
    (FELT, "my hip clicks, always has, no pain, hams worked", "hams-glutes"),
    (FELT, "my hammies felt like they'd tear if I went any deeper", "tight-hams"),
    (FELT, "hips shot up too early and my lower back took over", "lower-back"),
    (FELT, "annihilated the glutes today 💀", "hams-glutes"),
    (FELT, "my back used to lock up all the time, not anymore, all glutes today", "hams-glutes"),
    (FELT, "lower back, no pain, just tired", "lower-back"),
    (FELT, "my hips sat back nice and easy, hamstrings loaded", "hams-glutes"),
]


@pytest.mark.parametrize(("question", "text", "expected"), ISSUE_14, ids=[f"{q}:{t[:40]}" for q, t, _ in ISSUE_14])
def test_issue_14_english_classes(question, text, expected):
    assert decide(RULES.read(text), question).outcome == expected


def test_the_issue_14_rows_are_in_no_corpus():
    corpora = {row.text.casefold() for _language, path in CORPORA.values() if path.exists() for row in load_rows(path)}
    assert not [text for _q, text, _e in ISSUE_14 if text.casefold() in corpora]
