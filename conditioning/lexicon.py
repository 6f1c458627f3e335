"""emotive's own emotion lexicon: words, idioms, slang, emoji and modifiers.

Written for this project (not copied from any list). It complements the NRC
Emotion Lexicon (Mohammad & Turney 2013), which the resolver reads from the
``nrclex`` package when present: NRC knows 6,468 words but has no "calm" class,
no idioms, no slang and no emoji, and some of its entries are far from how people
talk about feelings; entries here take precedence over NRC.
"""

from __future__ import annotations

from types import MappingProxyType


def _words(label: str, weight: float, text: str) -> dict[str, dict[str, float]]:
    return {w.strip(): {label: weight} for w in text.split(",") if w.strip()}


_W: dict[str, dict[str, float]] = {}
for _label, _weight, _text in (
    ("happy", 1.0, "happy, glad, joy, joyful, joyous, delighted, elated, ecstatic, thrilled, overjoyed, cheerful, "
     "excited, exciting, exhilarated, euphoric, jubilant, gleeful, merry, proud, grateful, thankful, blessed, "
     "wonderful, awesome, amazing, fantastic, great, brilliant, yay, hooray, woohoo, yippee, love, loving, "
     "lovely, smiling, smile, laughing, laugh, celebrate, celebrating, stoked, pumped, psyched, giddy, "
     "blissful, bliss, elation, happiness, delight, thrilling, fun, best, win, won, winning, hyped, "
     "chuffed, beaming, grinning, rejoice, yass, yess, wooo, hype"),
    ("calm", 1.0, "calm, calmly, relaxed, relaxing, relax, peaceful, peace, serene, serenity, tranquil, tranquility, "
     "placid, content, contented, zen, chill, chilled, chillin, chilling, mellow, unhurried, soothed, soothing, "
     "restful, rested, easygoing, composed, untroubled, carefree, cozy, cosy, comfy, comfortable, "
     "quiet, quietly, still, gentle, gently, leisurely, lazy, breathe, breathing, meditating, meditation, "
     "unbothered, settled, grounded, balanced, collected, steady, hopeful, soft, softly"),
    ("sad", 1.0, "sad, sadly, sadness, unhappy, sorrow, sorrowful, grief, grieving, heartbroken, heartbreak, "
     "depressed, depressing, depression, miserable, gloomy, gloom, glum, melancholy, melancholic, despondent, "
     "crestfallen, dejected, downcast, disheartened, blue, down, low, lonely, alone, lonesome, hopeless, "
     "hurt, hurting, crying, cry, cried, tears, tearful, weeping, sobbing, mourning, mourn, devastated, "
     "disappointed, disappointing, disappointment, regret, sorry, bummed, bummer, forlorn, woeful, wistful, "
     "homesick, missing, miss, gutted, empty, numb, broken, died, dead, death, funeral, loss, lost, "
     "sigh, tired, exhausted, drained, weary, defeated"),
    ("angry", 1.0, "angry, anger, angrily, mad, furious, fury, livid, irate, enraged, rage, raging, seething, "
     "fuming, outraged, outrageous, infuriated, infuriating, irritated, irritating, annoyed, annoying, "
     "aggravated, exasperated, frustrated, frustrating, pissed, cross, hostile, resentful, bitter, indignant, "
     "incensed, irked, vexed, sick of, fed up, hate, hated, hating, salty, tilted, triggered, heated, "
     "ranting, yelling, scream, screaming, unfair, betrayed, lied, cheated, stole, keyed, ridiculous, "
     "unacceptable, grr, grrr, argh, wtf"),
    ("fearful", 1.0, "afraid, scared, scary, fear, fearful, frightened, frightening, terrified, terrifying, "
     "terror, petrified, horrified, panic, panicked, panicking, anxious, anxiety, nervous, nervously, "
     "worried, worry, worrying, uneasy, dread, dreading, dreadful, spooked, spooky, creepy, creeps, "
     "alarmed, tense, jittery, jumpy, shaky, shaking, trembling, freaked, freaking, paranoid, apprehensive, "
     "insecure, threatened, danger, dangerous, help, eek, yikes, nightmare, haunted, ghost, "
     "heebie, jeebies, hide, hiding, stalked, following, intruder"),
    ("disgusted", 1.0, "disgusted, disgusting, disgust, gross, grossed, grossd, revolting, revolted, repulsed, "
     "repulsive, repugnant, nauseating, nauseated, nauseous, sickening, vile, foul, filthy, nasty, yuck, yuk, "
     "ew, eww, ewww, icky, ick, rotten, rancid, putrid, slimy, stinks, stinking, stench, vomit, puke, "
     "barf, gag, gagging, mold, mouldy, moldy, cockroaches, roaches, maggots, toenail, booger, snot, "
     "appalled, abhorrent, loathsome, loathe, sleazy, creep, grossest, unsanitary"),
    ("surprised", 1.0, "surprised, surprise, surprising, surprisingly, astonished, astonishing, amazed, "
     "astounded, stunned, shocked, shocking, startled, speechless, dumbfounded, flabbergasted, gobsmacked, "
     "wow, whoa, woah, omg, unexpected, unexpectedly, suddenly, sudden, unbelievable, incredible, "
     "shook, wait, what, really, seriously, jaw, nowhere, twist, blindsided, taken aback, can't believe"),
    ("happy", 0.9, "delightful, glorious, marvelous, marvellous, splendid, terrific, superb, fabulous, blissed, "
     "upbeat, sunny, radiant, exuberant, buoyant, jolly, jovial, tickled, overjoyed, victorious, triumphant, "
     "congrats, congratulations, lucky, adore, adored, enjoying, enjoy, enjoyed, wonderful, yippie, lol, lmao, haha, hahaha"),
    ("sad", 0.9, "sorrowful, mournful, grieve, grieved, bereaved, blue, downhearted, heavyhearted, dispirited, morose, "
     "sullen, doleful, unhappily, tragic, tragedy, weep, wept, sob, sobbed, pain, painful, aching, ache, "
     "abandoned, rejected, unloved, worthless, failure, failed, hopelessness, despair, despairing, pointless, grey"),
    ("angry", 0.9, "furiously, wrathful, wrath, irritable, grumpy, cranky, ornery, peeved, miffed, riled, livid, "
     "snapped, snap, infuriate, disrespected, disrespectful, insulted, insulting, offended, offensive, "
     "cheat, liar, lying, stolen, steal, rude, unforgivable, ugh"),
    ("fearful", 0.9, "fright, frightful, horrifying, horror, terrify, afraid, scaredy, nervy, edgy, antsy, "
     "restless, uneasy, ominous, eerie, creeped, hesitant, timid, cowering, quaking, shivering, trembled, "
     "threat, threatening, attack, unsafe, lurking, stalker, nightmares, phobia"),
    ("disgusted", 0.9, "distasteful, unsavory, unsavoury, yucky, grimy, greasy, crusty, festering, reeks, reek, "
     "smelly, stinky, sewage, spit, spat, drool, mucus, pus, scab, germs, germy, unhygienic, contaminated, "
     "sickened, disgusts, revolts, repels, creepy-crawly, hairball"),
    ("surprised", 0.9, "astonishment, amazement, disbelief, unforeseen, unannounced, sudden, whoa, wowza, "
     "omfg, bombshell, revelation, plot, unreal, mindblowing, jawdropping, startling, surprisingly"),
    ("calm", 0.9, "serenely, tranquilly, peacefully, soothe, restful, lounging, lounge, napping, nap, snuggled, "
     "snuggle, hammock, sunbathing, strolling, stroll, breeze, unwinding, unwind, relaxation, calmness, ease, "
     "reassured, secure, safe"),
    ("neutral", 1.0, "meh, okay, ok, fine, whatever, indifferent, neutral, nothing, normal, usual, ordinary, "
     "noted, alright, sure, unremarkable, unbothered, eh, hmm, k, so-so"),
):
    for _word, _dist in _words(_label, _weight, _text).items():
        _W.setdefault(_word, {}).update(_dist)

# A few words point at two labels.
_W.update(
    {
        "shook": {"surprised": 0.7, "fearful": 0.3},
        "unbothered": {"calm": 0.7, "neutral": 0.3},
        "hopeful": {"calm": 0.55, "happy": 0.45},
        "amused": {"happy": 0.8, "surprised": 0.2},
        "relief": {"calm": 0.6, "happy": 0.4},
        "relieved": {"calm": 0.6, "happy": 0.4},
        "bittersweet": {"sad": 0.6, "happy": 0.4},
        "hurt": {"sad": 0.8, "angry": 0.2},
        "betrayed": {"angry": 0.6, "sad": 0.4},
        "jealous": {"angry": 0.7, "sad": 0.3},
        "envious": {"angry": 0.6, "sad": 0.4},
        "ashamed": {"sad": 0.8, "fearful": 0.2},
        "embarrassed": {"sad": 0.5, "fearful": 0.5},
        "curious": {"surprised": 0.5, "neutral": 0.5},
        "bored": {"neutral": 0.6, "sad": 0.4},
        "boring": {"neutral": 0.7, "sad": 0.3},
        "sleepy": {"calm": 0.7, "neutral": 0.3},
        "stress": {"fearful": 0.6, "angry": 0.4},
        "stressed": {"fearful": 0.6, "angry": 0.4},
        "overwhelmed": {"fearful": 0.6, "sad": 0.4},
        "what": {"surprised": 0.4},
        "really": {"surprised": 0.2},
        "wait": {"surprised": 0.5},
        "help": {"fearful": 0.6},
        "lost": {"sad": 0.6},
        "down": {"sad": 0.7},
        "low": {"sad": 0.6},
        "still": {"calm": 0.4},
        "quiet": {"calm": 0.7},
        "soft": {"calm": 0.6},
        "best": {"happy": 0.8},
        "win": {"happy": 0.7},
        "fine": {"neutral": 0.8},
        "sure": {"neutral": 0.5},
        "tired": {"sad": 0.5, "calm": 0.3, "neutral": 0.2},
        "exhausted": {"sad": 0.7, "neutral": 0.3},
        "creep": {"disgusted": 0.6, "fearful": 0.4},
        "screaming": {"angry": 0.5, "fearful": 0.5},
        "scream": {"angry": 0.5, "fearful": 0.5},
        "shaking": {"fearful": 0.8, "angry": 0.2},
    }
)
WORDS = MappingProxyType(_W)

# Multi-word expressions, matched on the normalised token stream before single words.
PHRASES = MappingProxyType(
    {
        "over the moon": {"happy": 1.2},
        "on cloud nine": {"happy": 1.2},
        "seventh heaven": {"happy": 1.2},
        "walking on air": {"happy": 1.2},
        "on top of the world": {"happy": 1.2},
        "best day ever": {"happy": 1.2},
        "can't stop smiling": {"happy": 1.3},
        "cant stop smiling": {"happy": 1.3},
        "no cap": {},
        "down in the dumps": {"sad": 1.2},
        "feeling blue": {"sad": 1.0},
        "a bit blue": {"sad": 1.0},
        "broke my heart": {"sad": 1.2},
        "passed away": {"sad": 1.2},
        "heavy heart": {"sad": 1.1},
        "lump in my throat": {"sad": 1.0},
        "fell apart": {"sad": 0.8},
        "not okay": {"sad": 1.1},
        "not ok": {"sad": 1.1},
        "go wrong": {"sad": 0.6},
        "goes wrong": {"sad": 0.6},
        "going wrong": {"sad": 0.6},
        "without her": {"sad": 0.8},
        "without him": {"sad": 0.8},
        "without you": {"sad": 0.8},
        "seeing red": {"angry": 1.2},
        "hit the roof": {"angry": 1.2},
        "hit the ceiling": {"angry": 1.2},
        "blew up": {"angry": 0.9},
        "blood boil": {"angry": 1.3},
        "lost my temper": {"angry": 1.2},
        "fed up": {"angry": 1.0},
        "sick of": {"angry": 0.9},
        "sick and tired": {"angry": 1.1},
        "had enough": {"angry": 1.0},
        "kidding me": {"angry": 0.8},
        "last straw": {"angry": 1.1},
        "steam coming out": {"angry": 1.1},
        "up the wall": {"angry": 1.0},
        "scared stiff": {"fearful": 1.2},
        "scared to death": {"fearful": 1.2},
        "shaking like a leaf": {"fearful": 1.3},
        "gave me the creeps": {"fearful": 1.2},
        "gives me the creeps": {"fearful": 1.2},
        "the creeps": {"fearful": 1.0},
        "heebie jeebies": {"fearful": 1.2},
        "butterflies": {"fearful": 0.5},
        "heart is racing": {"fearful": 1.0},
        "heart racing": {"fearful": 1.0},
        "cold sweat": {"fearful": 1.1},
        "jump out of my skin": {"fearful": 1.0},
        "going to be okay": {"fearful": 0.8},
        "gonna be okay": {"fearful": 0.8},
        "lost my lunch": {"disgusted": 1.2},
        "lose my lunch": {"disgusted": 1.2},
        "made me sick": {"disgusted": 1.0},
        "makes me sick": {"disgusted": 1.0},
        "turned my stomach": {"disgusted": 1.2},
        "turns my stomach": {"disgusted": 1.2},
        "want to throw up": {"disgusted": 1.1},
        "threw up": {"disgusted": 0.9},
        "major ick": {"disgusted": 1.2},
        "the ick": {"disgusted": 1.2},
        "knocked me over with a feather": {"surprised": 1.4},
        "jaw dropped": {"surprised": 1.2},
        "jaw hit the floor": {"surprised": 1.2},
        "out of nowhere": {"surprised": 1.0},
        "out of the blue": {"surprised": 1.0},
        "didn't see that coming": {"surprised": 1.2},
        "didnt see that coming": {"surprised": 1.2},
        "never expected": {"surprised": 1.1},
        "can't believe": {"surprised": 1.0},
        "cant believe": {"surprised": 1.0},
        "no way": {"surprised": 1.0},
        "left me speechless": {"surprised": 1.2},
        "taken aback": {"surprised": 1.1},
        "caught off guard": {"surprised": 1.1},
        "without a care in the world": {"calm": 1.3},
        "taking it easy": {"calm": 1.2},
        "take it easy": {"calm": 1.1},
        "at ease": {"calm": 1.2},
        "at peace": {"calm": 1.2},
        "no stress": {"calm": 1.1},
        "no worries": {"calm": 1.0},
        "all good": {"calm": 0.6, "neutral": 0.4},
        "slow morning": {"calm": 1.0},
        "cup of tea": {"calm": 0.6},
        "mug of tea": {"calm": 0.6},
        "deep breath": {"calm": 0.8},
        "either way": {"neutral": 0.8},
        "don't care": {"neutral": 0.8},
        "dont care": {"neutral": 0.8},
        "i guess": {"neutral": 0.5},
        "it is what it is": {"neutral": 1.0},
        "nothing special": {"neutral": 1.0},
        "so so": {"neutral": 0.8},
        # more idioms (general English usage)
        "tickled pink": {"happy": 1.2}, "on top of the moon": {"happy": 1.2}, "thrilled to bits": {"happy": 1.3},
        "happy as a clam": {"happy": 1.3}, "grinning from ear to ear": {"happy": 1.3}, "made my day": {"happy": 1.2},
        "jumping for joy": {"happy": 1.3}, "in high spirits": {"happy": 1.2}, "over the rainbow": {"happy": 1.0},
        "feel like a million bucks": {"happy": 1.2}, "dream come true": {"happy": 1.2}, "couldn't be happier": {"happy": 1.4},
        "could not be happier": {"happy": 1.4}, "heart is full": {"happy": 1.1}, "good vibes": {"happy": 1.0},
        "down in the mouth": {"sad": 1.2}, "heart sank": {"sad": 1.2}, "my heart sank": {"sad": 1.2},
        "heartbroken": {"sad": 1.2}, "cry my eyes out": {"sad": 1.3}, "cried my eyes out": {"sad": 1.3},
        "feel like crying": {"sad": 1.2}, "at rock bottom": {"sad": 1.2}, "hit rock bottom": {"sad": 1.2},
        "world is ending": {"sad": 0.8, "fearful": 0.4}, "the blues": {"sad": 1.1}, "bummed out": {"sad": 1.1},
        "in tears": {"sad": 1.2}, "falling apart": {"sad": 1.0}, "lost without": {"sad": 1.0},
        "what's the point": {"sad": 1.0}, "whats the point": {"sad": 1.0}, "gutted": {"sad": 1.1},
        "fit to be tied": {"angry": 1.3}, "blow a fuse": {"angry": 1.3}, "blew a fuse": {"angry": 1.3},
        "blow my top": {"angry": 1.3}, "flew off the handle": {"angry": 1.3}, "fly off the handle": {"angry": 1.3},
        "hopping mad": {"angry": 1.3}, "up in arms": {"angry": 1.2}, "drives me crazy": {"angry": 1.1},
        "drives me nuts": {"angry": 1.1}, "drove me nuts": {"angry": 1.1}, "gets on my nerves": {"angry": 1.2},
        "got on my nerves": {"angry": 1.2}, "at my wits end": {"angry": 0.8, "fearful": 0.3},
        "see red": {"angry": 1.2}, "bent out of shape": {"angry": 1.1}, "ticked off": {"angry": 1.2},
        "teed off": {"angry": 1.2}, "lose my mind": {"angry": 0.7, "fearful": 0.3}, "are you serious": {"angry": 0.6, "surprised": 0.4},
        "how dare": {"angry": 1.3}, "sick to death of": {"angry": 1.3}, "not again": {"angry": 0.8},
        "hair stand on end": {"fearful": 1.3}, "hair stood on end": {"fearful": 1.3}, "chills down my spine": {"fearful": 1.3},
        "shiver down my spine": {"fearful": 1.2}, "blood ran cold": {"fearful": 1.3}, "heart in my mouth": {"fearful": 1.2},
        "scared out of my wits": {"fearful": 1.3}, "jumped out of my skin": {"fearful": 1.1}, "on edge": {"fearful": 1.1},
        "on pins and needles": {"fearful": 1.1}, "white as a sheet": {"fearful": 1.1}, "knees are shaking": {"fearful": 1.2},
        "frozen with fear": {"fearful": 1.4}, "what if": {"fearful": 0.6}, "freaking out": {"fearful": 1.1},
        "freaked out": {"fearful": 1.0}, "sweating bullets": {"fearful": 1.2}, "cold feet": {"fearful": 1.0},
        "keep me up at night": {"fearful": 1.0}, "keeps me up at night": {"fearful": 1.0},
        "sick to my stomach": {"disgusted": 1.2}, "made my skin crawl": {"disgusted": 0.9, "fearful": 0.3},
        "makes my skin crawl": {"disgusted": 0.9, "fearful": 0.3}, "stomach turned": {"disgusted": 1.2},
        "can't stand": {"disgusted": 0.7, "angry": 0.5}, "cant stand": {"disgusted": 0.7, "angry": 0.5},
        "left a bad taste": {"disgusted": 1.1}, "bad taste in my mouth": {"disgusted": 1.1}, "want to gag": {"disgusted": 1.2},
        "grossed out": {"disgusted": 1.3},
        "bolt from the blue": {"surprised": 1.3}, "took me by surprise": {"surprised": 1.3}, "blew my mind": {"surprised": 1.2},
        "mind blown": {"surprised": 1.2}, "lost for words": {"surprised": 1.1}, "at a loss for words": {"surprised": 1.1},
        "eyes popped": {"surprised": 1.2}, "never saw it coming": {"surprised": 1.3}, "did not see that coming": {"surprised": 1.3},
        "who would have thought": {"surprised": 1.1}, "of all things": {"surprised": 0.7}, "you're kidding": {"surprised": 1.0},
        "you are kidding": {"surprised": 1.0}, "knock me down": {"surprised": 1.0}, "bowled over": {"surprised": 1.1},
        "cool as a cucumber": {"calm": 1.3}, "calm as a millpond": {"calm": 1.3}, "weight off my shoulders": {"calm": 1.2},
        "weight off my mind": {"calm": 1.2}, "kick back": {"calm": 1.0}, "kicking back": {"calm": 1.0},
        "winding down": {"calm": 1.1}, "wind down": {"calm": 1.0}, "at one with": {"calm": 1.0}, "in my element": {"calm": 0.6, "happy": 0.5},
        "nothing to worry about": {"calm": 1.1}, "all is well": {"calm": 1.1}, "peace and quiet": {"calm": 1.3},
        "go with the flow": {"calm": 1.1}, "chill vibes": {"calm": 1.2}, "laid back": {"calm": 1.2},
        "not bad": {"neutral": 0.7, "happy": 0.3}, "could be worse": {"neutral": 0.8}, "same old": {"neutral": 1.0},
        "business as usual": {"neutral": 1.0}, "for your information": {"neutral": 0.8}, "fair enough": {"neutral": 0.9},
    }
)

# Emoji -> labels (and a few emoticons).
EMOJI = MappingProxyType(
    {
        "😀": {"happy": 1.0}, "😃": {"happy": 1.0}, "😄": {"happy": 1.0}, "😁": {"happy": 1.0},
        "😆": {"happy": 1.0}, "😂": {"happy": 1.0}, "🤣": {"happy": 1.0}, "😊": {"happy": 1.0},
        "🥰": {"happy": 1.0}, "😍": {"happy": 1.0}, "🥳": {"happy": 1.1}, "🎉": {"happy": 1.0},
        "❤️": {"happy": 0.7}, "❤": {"happy": 0.7}, "😎": {"happy": 0.6, "calm": 0.4}, "👍": {"happy": 0.5},
        "🙂": {"happy": 0.5, "calm": 0.3}, "😇": {"happy": 0.5, "calm": 0.5}, "🤩": {"happy": 1.0},
        "😌": {"calm": 1.1}, "🧘": {"calm": 1.1}, "🍃": {"calm": 0.8}, "☕": {"calm": 0.5}, "🌿": {"calm": 0.8},
        "😴": {"calm": 0.7, "neutral": 0.3}, "🌅": {"calm": 0.7}, "🛀": {"calm": 0.9}, "🌊": {"calm": 0.5},
        "😢": {"sad": 1.1}, "😭": {"sad": 1.1}, "😞": {"sad": 1.0}, "😔": {"sad": 1.0}, "😿": {"sad": 1.0},
        "💔": {"sad": 1.1}, "🥀": {"sad": 0.8}, "☹️": {"sad": 1.0}, "☹": {"sad": 1.0}, "🙁": {"sad": 0.9},
        "😥": {"sad": 0.8, "fearful": 0.2}, "😓": {"sad": 0.6, "fearful": 0.4},
        "😠": {"angry": 1.1}, "😡": {"angry": 1.1}, "🤬": {"angry": 1.2}, "💢": {"angry": 1.0},
        "😤": {"angry": 1.0}, "👿": {"angry": 1.0}, "🖕": {"angry": 1.0},
        "😨": {"fearful": 1.1}, "😱": {"fearful": 0.8, "surprised": 0.3}, "😰": {"fearful": 1.1},
        "😧": {"fearful": 0.8, "surprised": 0.2}, "😬": {"fearful": 0.7}, "👻": {"fearful": 0.8},
        "🫣": {"fearful": 0.9}, "😖": {"fearful": 0.5, "sad": 0.5},
        "🤢": {"disgusted": 1.2}, "🤮": {"disgusted": 1.2}, "😷": {"disgusted": 0.6}, "💩": {"disgusted": 0.6},
        "😒": {"disgusted": 0.5, "angry": 0.4},
        "😮": {"surprised": 1.1}, "😲": {"surprised": 1.1}, "😯": {"surprised": 1.0}, "🤯": {"surprised": 1.1},
        "😳": {"surprised": 0.8, "fearful": 0.2}, "❗": {"surprised": 0.3}, "⁉️": {"surprised": 0.8},
        "😐": {"neutral": 1.0}, "😑": {"neutral": 1.0}, "😶": {"neutral": 0.9}, "🤷": {"neutral": 0.9},
        "📅": {"neutral": 0.4}, "🙄": {"angry": 0.5, "disgusted": 0.3, "neutral": 0.2},
        ":)": {"happy": 0.8}, ":-)": {"happy": 0.8}, ":D": {"happy": 1.0}, ":(": {"sad": 0.9},
        ":-(": {"sad": 0.9}, ":'(": {"sad": 1.1}, ">:(": {"angry": 1.0}, ":O": {"surprised": 1.0},
        ":o": {"surprised": 1.0}, ":|": {"neutral": 0.9},
    }
)

NEGATORS = frozenset(
    ["not", "no", "never", "n't", "nothing", "nobody", "none", "neither", "nor", "without", "cannot", "cant", "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "werent", "wont", "aint", "hardly", "barely"]
)
# Negators that mean "it has stopped" ("no longer upset" -> calm rather than the opposite).
CESSATION = frozenset({"longer", "anymore", "more"})
# Scope ends at these tokens (a contrast restarts the evaluation).
SCOPE_BREAKERS = frozenset({"but", "just", "though", "however", "yet", "instead", "actually", "rather"})

INTENSIFIERS = MappingProxyType(
    {
        "very": 1.4, "so": 1.3, "really": 1.3, "extremely": 1.7, "absolutely": 1.7, "totally": 1.5,
        "completely": 1.6, "utterly": 1.7, "incredibly": 1.6, "insanely": 1.7, "super": 1.5, "deeply": 1.5,
        "profoundly": 1.6, "truly": 1.4, "too": 1.3, "most": 1.4, "mostly": 1.4, "mainly": 1.4,
        "overall": 1.2, "thoroughly": 1.5, "seriously": 1.3, "beyond": 1.5, "hella": 1.5, "mega": 1.5,
        "damn": 1.3, "fucking": 1.6, "bloody": 1.4, "such": 1.3, "ever": 1.2, "terribly": 1.5,
        "majorly": 1.5, "crazy": 1.4, "way": 1.2, "much": 1.2, "all": 1.1, "more": 1.2, "anything": 1.0,
    }
)
DIMINISHERS = MappingProxyType(
    {
        "little": 0.45, "slightly": 0.45, "bit": 0.5, "somewhat": 0.6, "kinda": 0.6, "kind": 0.6,
        "sort": 0.6, "sorta": 0.6, "mildly": 0.45, "tad": 0.45, "touch": 0.45, "hint": 0.4, "tiny": 0.4,
        "lowkey": 0.65, "fairly": 0.75, "quite": 0.9, "rather": 0.8, "barely": 0.35, "hardly": 0.35,
        "maybe": 0.6, "perhaps": 0.6, "flicker": 0.4, "trace": 0.4, "partly": 0.6, "some": 0.6,
        "also": 0.7, "almost": 0.8, "bits": 0.5, "mild": 0.5,
    }
)

# Arousal nudges independent of the label: "quietly hopeful" is lower-arousal
# than "hopeful", "trembling" higher. Added to the VAD arousal (scaled by intensity).
LOW_AROUSAL = MappingProxyType(
    {
        "quietly": -0.3, "quiet": -0.25, "softly": -0.3, "gently": -0.3, "calmly": -0.35, "slowly": -0.2,
        "tired": -0.3, "sleepy": -0.35, "exhausted": -0.35, "drained": -0.3, "weary": -0.3, "numb": -0.3,
        "peacefully": -0.3, "whisper": -0.2, "whispering": -0.2, "sigh": -0.2, "lazy": -0.25,
        "resigned": -0.25, "empty": -0.25, "bored": -0.3, "subdued": -0.3, "still": -0.15,
    }
)
HIGH_AROUSAL = MappingProxyType(
    {
        "screaming": 0.3, "scream": 0.25, "yelling": 0.25, "shaking": 0.2, "trembling": 0.25, "frantic": 0.3,
        "frantically": 0.3, "wildly": 0.25, "panicking": 0.3, "racing": 0.2, "pumped": 0.25, "hyped": 0.25,
        "thrilled": 0.2, "ecstatic": 0.25, "furious": 0.2, "explode": 0.25, "insanely": 0.2,
    }
)

# What a negated emotion becomes: "not happy" is mostly sad; "not angry" is calm-ish.
NEGATION_MAP = MappingProxyType(
    {
        "happy": {"sad": 0.75, "neutral": 0.25},
        "calm": {"fearful": 0.6, "angry": 0.4},
        "sad": {"neutral": 0.5, "calm": 0.3, "happy": 0.2},
        "angry": {"calm": 0.5, "neutral": 0.5},
        "fearful": {"calm": 0.7, "neutral": 0.3},
        "disgusted": {"neutral": 0.7, "calm": 0.3},
        "surprised": {"neutral": 0.8, "calm": 0.2},
        "neutral": {"sad": 0.5, "angry": 0.5},
    }
)
