"""Word lists for names, postcodes and codes that look like the real registers' text.

Every character used is encodable in Windows-1252, the encoding of the older CQC exports.
"""

from __future__ import annotations

import random

TREES = (
    "Oak",
    "Ash",
    "Elm",
    "Willow",
    "Beech",
    "Birch",
    "Cedar",
    "Holly",
    "Hawthorn",
    "Rowan",
    "Chestnut",
    "Maple",
    "Laurel",
    "Linden",
    "Poplar",
    "Sycamore",
    "Yew",
    "Hazel",
    "Alder",
    "Cherry",
    "Juniper",
)
PLACES = (
    "Lodge",
    "House",
    "Court",
    "Manor",
    "Grange",
    "Hall",
    "View",
    "Gardens",
    "Park",
    "Mews",
    "Villa",
    "Cottage",
    "Meadows",
    "Rise",
    "Croft",
    "Fields",
    "Place",
    "Mount",
    "Haven",
    "Green",
)
SAINTS = ("Anne", "Mary", "George", "Catherine", "Margaret", "Joseph", "Luke", "Helen", "Bede", "Clare")
SURNAMES = (
    "Ashworth",
    "Barrington",
    "Beaumont",
    "Blackwood",
    "Bradshaw",
    "Cartwright",
    "Chadwick",
    "Clifton",
    "Cromwell",
    "Davenport",
    "Ellison",
    "Fairfax",
    "Fenwick",
    "Gresham",
    "Hargreaves",
    "Harrington",
    "Holbrook",
    "Kingsley",
    "Lancaster",
    "Lockwood",
    "Marlowe",
    "Milburn",
    "Norwood",
    "Pemberton",
    "Radcliffe",
    "Rushton",
    "Sheridan",
    "Stanhope",
    "Sutherland",
    "Thornton",
    "Wainwright",
    "Whitmore",
    "Winchester",
    "Wycliffe",
    "Aldridge",
    "Brennan",
    "Okafor",
    "Patel",
    "Kowalski",
    "O'Brien",
)
TOWNS = (
    "Ashford",
    "Barnstaple",
    "Bedford",
    "Bolton",
    "Bradford",
    "Bristol",
    "Burnley",
    "Carlisle",
    "Chester",
    "Colchester",
    "Derby",
    "Doncaster",
    "Durham",
    "Exeter",
    "Gloucester",
    "Grimsby",
    "Halifax",
    "Harrogate",
    "Hastings",
    "Ipswich",
    "Kendal",
    "Leeds",
    "Leicester",
    "Lincoln",
    "Luton",
    "Maidstone",
    "Norwich",
    "Oldham",
    "Oxford",
    "Plymouth",
    "Preston",
    "Reading",
    "Salisbury",
    "Scarborough",
    "Sheffield",
    "Shrewsbury",
    "Stockport",
    "Swindon",
    "Taunton",
    "Telford",
    "Truro",
    "Wakefield",
    "Wigan",
    "Worcester",
    "York",
    "Camden",
    "Croydon",
    "Ealing",
    "Hackney",
    "Lewisham",
)
ACCENTED = (
    "Noël House",
    "Zoë Lodge",
    "Château Gardens",
    "Résidence Beaumont",
    "Brontë House",
    "Renée Court",
    "Belle Époque",
    "Villa Hélène",
    "Müller House",
    "Café Court",
    "Søren Lodge",
    "Chez Françoise",
)
ACCENTED_OWNERS = ("Zoë", "Renée", "Chloé", "Noël", "Anaïs", "José", "Björn", "Søren")
QUOTED = ('The "Old Rectory"', 'The "Vicarage"', 'Rose Cottage "Annexe"', 'The "Haven"')
LEADING_SYMBOLS = ("=", "+", "-", "@")
CARE_HOME_SUFFIXES = ("", "", "", " Care Home", " Nursing Home", " Residential Home", " Care Centre")
COMMUNITY_WORDS = (
    "Caring Hands",
    "Helping Hands",
    "Bluebird",
    "Home Instead",
    "Radfield",
    "Right at Home",
    "Kare Plus",
    "Comfort Call",
    "Allied",
    "Sunrise",
    "Heart of Care",
    "Independent Living",
    "Kindred",
    "Premier",
)
DOMICILIARY_SUFFIXES = (" Home Care", " Homecare", " Care Services", " Domiciliary Care", " Care at Home")
PROVIDER_SUFFIXES = (
    " Care Ltd",
    " Healthcare Limited",
    " Care Homes Ltd",
    " Care Group plc",
    " Limited",
    " LLP",
)

# Postcode areas by ONS region name, so a location's postcode matches its council's region
POSTCODE_AREAS = {
    "North East": ("NE", "SR", "DH", "TS", "DL"),
    "North West": ("M", "L", "WA", "WN", "BL", "OL", "SK", "PR", "BB", "LA", "CA", "CH", "CW", "FY"),
    "Yorkshire and The Humber": ("LS", "BD", "HD", "HX", "WF", "S", "DN", "HU", "YO", "HG"),
    "East Midlands": ("NG", "DE", "LE", "LN", "NN", "PE"),
    "West Midlands": ("B", "CV", "WV", "WS", "DY", "ST", "TF", "HR", "WR"),
    "East of England": ("CB", "CO", "CM", "IP", "NR", "SS", "LU", "SG", "AL"),
    "London": ("E", "N", "NW", "SE", "SW", "W", "BR", "CR", "DA", "EN", "HA", "IG", "KT", "RM", "SM", "UB"),
    "South East": ("RG", "SL", "OX", "MK", "HP", "GU", "BN", "PO", "SO", "TN", "ME", "CT", "RH"),
    "South West": ("BS", "BA", "EX", "PL", "TQ", "TR", "TA", "GL", "SN", "SP", "BH", "DT"),
}
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_ALPHANUMERIC = _LETTERS + "0123456789"


def pick(rng: random.Random, options: tuple[str, ...]) -> str:
    return options[rng.randrange(len(options))]


def care_home_name(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.006:
        return pick(rng, ACCENTED) + pick(rng, CARE_HOME_SUFFIXES)
    if roll < 0.01:
        return pick(rng, QUOTED)
    if roll < 0.03:
        return f"{pick(rng, TREES)} {pick(rng, PLACES)}, {pick(rng, TOWNS)}"
    if roll < 0.12:
        return f"St {pick(rng, SAINTS)}\u2019s" + pick(rng, (" Nursing Home", " Care Home", " House"))
    if roll < 0.25:
        return f"The {pick(rng, TREES)}s"
    if roll < 0.45:
        return f"{pick(rng, SURNAMES)} {pick(rng, PLACES)}" + pick(rng, CARE_HOME_SUFFIXES)
    return f"{pick(rng, TREES)} {pick(rng, PLACES)}" + pick(rng, CARE_HOME_SUFFIXES)


def domiciliary_name(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.01:
        return f"{pick(rng, ACCENTED_OWNERS)}\u2019s" + pick(rng, DOMICILIARY_SUFFIXES)
    if roll < 0.3:
        return f"{pick(rng, COMMUNITY_WORDS)} ({pick(rng, TOWNS)})"
    if roll < 0.33:
        return f"{pick(rng, COMMUNITY_WORDS)} - {pick(rng, TOWNS)}, {pick(rng, TOWNS)} and District"
    if roll < 0.6:
        return pick(rng, TOWNS) + pick(rng, DOMICILIARY_SUFFIXES)
    return pick(rng, SURNAMES) + pick(rng, DOMICILIARY_SUFFIXES)


def extra_care_name(rng: random.Random) -> str:
    return f"{pick(rng, TREES)} {pick(rng, PLACES)}" + pick(rng, (" Extra Care", " Extra Care Scheme", ""))


def supported_living_name(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{pick(rng, TOWNS)} Supported Living" + pick(rng, ("", " Services", " Network"))
    return f"{pick(rng, SURNAMES)} {pick(rng, ('Road', 'Street', 'Avenue', 'Close'))}"


def shared_lives_name(rng: random.Random) -> str:
    return f"{pick(rng, TOWNS)} Shared Lives" + pick(rng, ("", " Scheme", " Service"))


def provider_name(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.2:
        return f"{pick(rng, SURNAMES)} & {pick(rng, SURNAMES)}" + pick(rng, PROVIDER_SUFFIXES)
    if roll < 0.5:
        return pick(rng, COMMUNITY_WORDS) + pick(rng, PROVIDER_SUFFIXES)
    return pick(rng, SURNAMES) + pick(rng, PROVIDER_SUFFIXES)


def with_leading_symbol(rng: random.Random, name: str) -> str:
    """Names that begin like a spreadsheet formula, as some providers really typed them."""
    return pick(rng, LEADING_SYMBOLS) + name


def postcode(rng: random.Random, region_name: str) -> str:
    area = pick(rng, POSTCODE_AREAS.get(region_name, ("ZZ",)))
    district = rng.randrange(1, 30 if len(area) == 2 else 20)
    unit = rng.choice(_INWARD_LETTERS) + rng.choice(_INWARD_LETTERS)
    return f"{area}{district} {rng.randrange(10)}{unit}"


def ods_code(rng: random.Random) -> str:
    tail = "".join(rng.choices(_ALPHANUMERIC, k=3))
    return "V" + rng.choice(_LETTERS) + tail


def cqc_id(rng: random.Random) -> str:
    """`1-` then 9 to 11 digits, as CQC location and provider ids."""
    length = rng.choices((9, 10, 11), weights=(0.55, 0.4, 0.05))[0]
    return f"1-{rng.randrange(10 ** (length - 1), 10**length)}"
