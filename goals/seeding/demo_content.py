"""The demo company as plain data: Kestrel Bikes, an Amsterdam maker of e-bikes sold
by subscription. ``goals.seeding.demo`` writes it; nothing here touches the database.

Objectives refer to their parent by ``key``; weeks count from the cycle's start (week 0
is its first week). A key result's ``pace`` is how fast it travels towards its target
compared with the calendar (1 on track, 0.5 half as fast, below 0 the wrong way), so
the story reads the same whichever day of the quarter the seed runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from alignment.models import Team
from goals.models import Initiative, KeyResult, Kpi, Objective

COMPANY_SLUG = "kestrel"
LOGIN_USERNAME = "aisha"  # a team lead whose home page has several key results
ADMIN_USERNAME = "admin"

NUMBER = KeyResult.Kind.NUMBER
PERCENT = KeyResult.Kind.PERCENT
CURRENCY = KeyResult.Kind.CURRENCY
MILESTONE = KeyResult.Kind.MILESTONE
ASPIRATIONAL = Objective.Kind.ASPIRATIONAL
COMMITTED = Objective.Kind.COMMITTED
MON, TUE, THU = Team.Weekday.MONDAY, Team.Weekday.TUESDAY, Team.Weekday.THURSDAY
DONE = Initiative.Status.DONE
IN_PROGRESS = Initiative.Status.IN_PROGRESS
PLANNED = Initiative.Status.PLANNED


@dataclass(frozen=True)
class TeamSpec:
    slug: str
    name: str
    parent: str | None
    checkin_weekday: int = MON
    checkin_hour: int = 9


@dataclass(frozen=True)
class PersonSpec:
    username: str
    first_name: str
    last_name: str
    job_title: str
    team: str
    manager: str | None  # listed before the people they manage
    lead: bool = False
    admin: bool = False


@dataclass(frozen=True)
class InitiativeSpec:
    title: str
    status: str
    due_week: int
    owner: str | None = None  # defaults to the key result's owner
    link: str = ""


@dataclass(frozen=True)
class KeyResultSpec:
    title: str
    kind: str
    start: str
    target: str
    unit: str = ""
    owner: str | None = None  # defaults to the objective's owner
    pace: float = 0.8
    confidence: int = 7  # the owner's confidence when on pace
    rollup: bool = False  # progress from the objectives aligned to it, no check-ins
    notes: Mapping[int, str] = field(default_factory=dict)
    blockers: Mapping[int, str] = field(default_factory=dict)
    initiatives: tuple[InitiativeSpec, ...] = ()


@dataclass(frozen=True)
class ObjectiveSpec:
    key: str
    team: str
    owner: str
    title: str
    description: str
    key_results: tuple[KeyResultSpec, ...]
    kind: str = COMMITTED
    private: bool = False
    parent: str | None = None
    parent_kr: int | None = None  # index of the parent's roll-up key result it feeds


@dataclass(frozen=True)
class KpiSpec:
    team: str
    name: str
    description: str
    unit: str
    direction: str
    green: str
    red: str
    # (week, value) points the weekly readings follow; week 0 is eight weeks before
    # the active cycle starts, so there are always 8+ readings.
    course: tuple[tuple[int, float], ...]
    guards: tuple[str, ...] = ()  # keys of active-cycle objectives it is a guardrail for


@dataclass(frozen=True)
class OneOnOneSpec:
    manager: str
    report: str
    week: int
    notes: str
    action_items: tuple[tuple[str, str, bool], ...]  # (owner, text, done)


@dataclass(frozen=True)
class DependencySpec:
    requesting: str
    providing_team: str
    providing: str
    description: str
    needed_by_week: int
    requested_by: str
    responded_by: str
    response_note: str


TEAMS = (
    TeamSpec("kestrel", "Kestrel Bikes", None),
    TeamSpec("product-engineering", "Product & Engineering", "kestrel"),
    TeamSpec("go-to-market", "Go-to-Market", "kestrel"),
    TeamSpec("rider-app", "Rider App", "product-engineering", MON, 10),
    TeamSpec("drivetrain", "Drivetrain & Firmware", "product-engineering", TUE, 9),
    TeamSpec("sales", "Dealer & Direct Sales", "go-to-market", MON, 9),
    TeamSpec("customer-care", "Customer Care", "go-to-market", THU, 16),
)

PEOPLE = (
    PersonSpec("maren", "Maren", "Holt", "Chief Executive Officer", "kestrel", None, lead=True),
    PersonSpec("admin", "Ines", "Duarte", "People & IT Operations", "kestrel", "maren", admin=True),
    PersonSpec("jonas", "Jonas", "Berg", "Finance Manager", "kestrel", "maren"),
    PersonSpec(
        "tomasz",
        "Tomasz",
        "Nowak",
        "VP Product & Engineering",
        "product-engineering",
        "maren",
        lead=True,
    ),
    PersonSpec("daniel", "Daniel", "Okafor", "VP Go-to-Market", "go-to-market", "maren", lead=True),
    PersonSpec(
        "aisha",
        "Aisha",
        "Bello",
        "Engineering Lead, Rider App",
        "rider-app",
        "tomasz",
        lead=True,
    ),
    PersonSpec("lucas", "Lucas", "Ferreira", "Mobile Engineer", "rider-app", "aisha"),
    PersonSpec("hannah", "Hannah", "Schmidt", "Product Designer", "rider-app", "aisha"),
    PersonSpec("kenji", "Kenji", "Watanabe", "Backend Engineer", "rider-app", "aisha"),
    PersonSpec("sofia", "Sofia", "Rossi", "Product Manager", "rider-app", "aisha"),
    PersonSpec("erik", "Erik", "Lindqvist", "Firmware Lead", "drivetrain", "tomasz", lead=True),
    PersonSpec("priya", "Priya", "Nair", "Embedded Software Engineer", "drivetrain", "erik"),
    PersonSpec("mateo", "Mateo", "García", "Hardware Test Engineer", "drivetrain", "erik"),
    PersonSpec("chloe", "Chloé", "Martin", "Reliability Engineer", "drivetrain", "erik"),
    PersonSpec("ben", "Ben", "Carter", "Battery Systems Engineer", "drivetrain", "erik"),
    PersonSpec("laura", "Laura", "Jensen", "Head of Sales", "sales", "daniel", lead=True),
    PersonSpec("omar", "Omar", "Haddad", "Dealer Account Manager", "sales", "laura"),
    PersonSpec("emma", "Emma", "Dubois", "Account Executive, Netherlands", "sales", "laura"),
    PersonSpec("ravi", "Ravi", "Patel", "Sales Operations Analyst", "sales", "laura"),
    PersonSpec("julia", "Julia", "Kowalska", "Growth Marketer", "sales", "laura"),
    PersonSpec(
        "noah", "Noah", "Williams", "Customer Care Lead", "customer-care", "daniel", lead=True
    ),
    PersonSpec("yuki", "Yuki", "Tanaka", "Service Technician", "customer-care", "noah"),
    PersonSpec("fatima", "Fatima", "Zahra", "Support Specialist", "customer-care", "noah"),
    PersonSpec("liam", "Liam", "O'Brien", "Support Specialist", "customer-care", "noah"),
    PersonSpec("elena", "Elena", "Petrova", "Knowledge Base Editor", "customer-care", "noah"),
)

# --- The closed cycle: the previous quarter, which the active one builds on. ----------

PREVIOUS_OBJECTIVES = (
    ObjectiveSpec(
        "q-prev-retention",
        "kestrel",
        "maren",
        "Prove that riders stay when the bike just works",
        "Churn decides whether the subscription model works; this quarter we test whether "
        "reliability alone moves it.",
        (
            KeyResultSpec(
                "Reduce monthly subscription churn from 9.5% to 8%",
                PERCENT,
                "9.5",
                "8",
                "%",
                pace=0.9,
            ),
            KeyResultSpec("Raise rider NPS from 24 to 31", NUMBER, "24", "31", "pts", pace=1.0),
        ),
    ),
    ObjectiveSpec(
        "q-prev-winter",
        "product-engineering",
        "tomasz",
        "Stop the winter motor failures before they start",
        "Last winter a third of our support tickets were wet motors.",
        (
            KeyResultSpec(
                "Cut motor errors per 1,000 rides from 34 to 20",
                NUMBER,
                "34",
                "20",
                pace=0.95,
                owner="erik",
            ),
            KeyResultSpec(
                "Share of the fleet on firmware 4.2 from 0% to 90%",
                PERCENT,
                "0",
                "90",
                "%",
                pace=1.05,
                owner="priya",
            ),
        ),
        parent="q-prev-retention",
    ),
    ObjectiveSpec(
        "q-prev-unit-economics",
        "go-to-market",
        "daniel",
        "Make every subscription pay for itself",
        "Growth that loses money on each rider is not growth.",
        (
            KeyResultSpec(
                "Grow monthly recurring revenue from €350,000 to €410,000",
                CURRENCY,
                "350000",
                "410000",
                "EUR",
                pace=1.0,
            ),
            KeyResultSpec(
                "Cut cost per acquired subscriber from €260 to €210",
                CURRENCY,
                "260",
                "210",
                "EUR",
                pace=1.0,
                owner="julia",
            ),
        ),
        parent="q-prev-retention",
    ),
    ObjectiveSpec(
        "q-prev-unlock",
        "rider-app",
        "aisha",
        "Make unlocking the bike instant",
        "Riders judge the whole product in the ten seconds at the bike rack.",
        (
            KeyResultSpec(
                "Cut median unlock time from 6.5 s to 2 s", NUMBER, "6.5", "2", "s", pace=0.8
            ),
            KeyResultSpec(
                "Raise first-try unlock success from 85% to 92%",
                PERCENT,
                "85",
                "92",
                "%",
                pace=1.0,
                owner="lucas",
            ),
        ),
        parent="q-prev-winter",
    ),
    ObjectiveSpec(
        "q-prev-answers",
        "customer-care",
        "noah",
        "Answer riders while they still care",
        "A rider with a broken bike and no answer cancels.",
        (
            KeyResultSpec(
                "Answer 70% of tickets within 4 working hours, up from 48%",
                PERCENT,
                "48",
                "70",
                "%",
                pace=1.0,
                owner="fatima",
            ),
            KeyResultSpec(
                "Raise satisfaction after a repair from 3.6 to 4.1 out of 5",
                NUMBER,
                "3.6",
                "4.1",
                pace=0.9,
            ),
        ),
        parent="q-prev-unit-economics",
    ),
    ObjectiveSpec(
        "q-prev-antwerp",
        "sales",
        "laura",
        "Open Antwerp as our first city outside the Netherlands",
        "Belgium is the test of whether the model travels.",
        (
            KeyResultSpec(
                "Sign 10 Antwerp dealers, up from 0",
                NUMBER,
                "0",
                "10",
                pace=0.7,
                owner="omar",
                blockers={5: "Waiting for the Belgian distribution contract to be signed."},
            ),
            KeyResultSpec("Reach 400 Antwerp subscribers, up from 0", NUMBER, "0", "400", pace=0.6),
        ),
        kind=ASPIRATIONAL,
        parent="q-prev-unit-economics",
    ),
)

# --- The active cycle: company → departments → teams → people. -------------------------

ACTIVE_OBJECTIVES = (
    # The company.
    ObjectiveSpec(
        "recommend",
        "kestrel",
        "maren",
        "Make Kestrel the e-bike riders recommend to their friends",
        "Word of mouth brings half our subscribers at no cost. It only works when riding "
        "a Kestrel is better than owning any other bike.",
        (
            KeyResultSpec(
                "Raise rider NPS from 31 to 45",
                NUMBER,
                "31",
                "45",
                "pts",
                pace=0.8,
                notes={0: "Baseline from the September survey (n=1,240)."},
            ),
            KeyResultSpec(
                "Reduce monthly subscription churn from 8% to 4%",
                PERCENT,
                "8",
                "4",
                "%",
                pace=0.5,
                confidence=6,
                owner="jonas",
                initiatives=(
                    InitiativeSpec("Offer 'pause' instead of 'cancel'", DONE, 4, "sofia"),
                    InitiativeSpec(
                        "Call back every rider who cancels",
                        IN_PROGRESS,
                        9,
                        "noah",
                    ),
                ),
            ),
            KeyResultSpec(
                "The departments' rider-experience objectives reach their targets",
                PERCENT,
                "0",
                "100",
                "%",
                rollup=True,
            ),
        ),
    ),
    ObjectiveSpec(
        "profitable",
        "kestrel",
        "maren",
        "Grow into a profitable subscription business",
        "We want to fund the S2 launch from revenue, not only from investors.",
        (
            KeyResultSpec(
                "Grow monthly recurring revenue from €410,000 to €520,000",
                CURRENCY,
                "410000",
                "520000",
                "EUR",
                pace=0.9,
                owner="jonas",
            ),
            KeyResultSpec(
                "Raise gross margin per bike from 22% to 28%",
                PERCENT,
                "22",
                "28",
                "%",
                pace=0.3,
                confidence=6,
                owner="jonas",
                blockers={5: "Our battery cell supplier raised prices by 7% from November."},
            ),
            KeyResultSpec(
                "Grow active subscribers from 9,800 to 12,500",
                NUMBER,
                "9800",
                "12500",
                pace=1.0,
                owner="daniel",
            ),
        ),
    ),
    ObjectiveSpec(
        "s2-ready",
        "kestrel",
        "maren",
        "Be ready to launch the S2 cargo bike in spring",
        "The S2 opens the family market, twice the size of commuters. Missing spring "
        "means missing a season.",
        (
            KeyResultSpec(
                "Test fleet rides 5,000 km without a drivetrain failure",
                NUMBER,
                "0",
                "5000",
                "km",
                pace=1.1,
                owner="tomasz",
            ),
            KeyResultSpec(
                "EN 15194 certificate granted for the S2",
                MILESTONE,
                "0",
                "1",
                pace=0.8,
                owner="tomasz",
                confidence=6,
                blockers={
                    3: "The test lab moved our slot to late November.",
                    4: "Still waiting for the test lab slot.",
                },
                initiatives=(InitiativeSpec("Book the certification test lab", DONE, 1),),
            ),
            KeyResultSpec(
                "The departments' S2 readiness objectives reach their targets",
                PERCENT,
                "0",
                "100",
                "%",
                rollup=True,
            ),
        ),
        kind=ASPIRATIONAL,
    ),
    ObjectiveSpec(
        "series-b",
        "kestrel",
        "maren",
        "Close the Series B on our terms",
        "Confidential until announced: runway for the S2 launch without giving up control.",
        (
            KeyResultSpec(
                "Term sheet signed with a lead investor",
                MILESTONE,
                "0",
                "1",
                pace=0.7,
                confidence=5,
            ),
            KeyResultSpec(
                "Extend runway from 14 to 24 months",
                NUMBER,
                "14",
                "24",
                "months",
                pace=0.2,
                owner="jonas",
            ),
        ),
        kind=ASPIRATIONAL,
        private=True,
    ),
    # The departments.
    ObjectiveSpec(
        "effortless",
        "product-engineering",
        "tomasz",
        "Make the bike and the app feel effortless",
        "Most detractors in the NPS survey mention the app or a motor error.",
        (
            KeyResultSpec(
                "Raise the app store rating from 3.9 to 4.5",
                NUMBER,
                "3.9",
                "4.5",
                "stars",
                pace=0.7,
                owner="sofia",
            ),
            KeyResultSpec(
                "Reduce rides ending in a motor error from 2.1% to 0.5%",
                PERCENT,
                "2.1",
                "0.5",
                "%",
                pace=0.6,
                owner="erik",
            ),
        ),
        parent="recommend",
        parent_kr=2,
    ),
    ObjectiveSpec(
        "s2-drivetrain",
        "product-engineering",
        "tomasz",
        "Get the S2 drivetrain ready for production",
        "The drivetrain is the long pole of the S2 plan.",
        (
            KeyResultSpec(
                "Pass 100% of the certification test suite, up from 62%",
                PERCENT,
                "62",
                "100",
                "%",
                pace=0.9,
                owner="erik",
            ),
            KeyResultSpec(
                "Cut the S2 drivetrain unit cost from €640 to €520",
                CURRENCY,
                "640",
                "520",
                "EUR",
                pace=0.5,
                owner="ben",
                confidence=6,
            ),
        ),
        parent="s2-ready",
        parent_kr=2,
    ),
    ObjectiveSpec(
        "benelux",
        "go-to-market",
        "daniel",
        "Win the commuter market in the Benelux",
        "Commuters ride every day, churn least and bring colleagues.",
        (
            KeyResultSpec(
                "Grow active dealers from 38 to 60",
                NUMBER,
                "38",
                "60",
                pace=0.8,
                owner="laura",
            ),
            KeyResultSpec(
                "Grow monthly web-shop bike sales from 210 to 320",
                NUMBER,
                "210",
                "320",
                pace=1.2,
                owner="julia",
            ),
        ),
        parent="profitable",
    ),
    ObjectiveSpec(
        "keep-riding",
        "go-to-market",
        "daniel",
        "Keep every subscriber riding",
        "A bike in the repair queue is a subscriber about to cancel.",
        (
            KeyResultSpec(
                "Raise subscriber satisfaction from 4.1 to 4.6 out of 5",
                NUMBER,
                "4.1",
                "4.6",
                pace=0.5,
                owner="noah",
            ),
            KeyResultSpec(
                "Cut median repair turnaround from 6 days to 2",
                NUMBER,
                "6.0",
                "2.0",
                "days",
                pace=-0.2,
                confidence=5,
                owner="noah",
                blockers={
                    3: "The third repair van is still not approved; the backlog is growing.",
                    6: "Two technicians off sick; the backlog is above 250 bikes.",
                },
            ),
        ),
        parent="recommend",
        parent_kr=2,
    ),
    # The teams.
    ObjectiveSpec(
        "app-trust",
        "rider-app",
        "aisha",
        "Riders trust the app to find, unlock and fix their bike",
        "When the app fails, the rider blames the bike.",
        (
            KeyResultSpec(
                "Raise crash-free sessions from 97.2% to 99.5%",
                PERCENT,
                "97.2",
                "99.5",
                "%",
                pace=1.0,
                owner="kenji",
                initiatives=(
                    InitiativeSpec("Fix the five most frequent crashes", IN_PROGRESS, 6),
                    InitiativeSpec("Move map rendering off the main thread", PLANNED, 10),
                ),
            ),
            KeyResultSpec(
                "Raise first-try unlock success from 92% to 99%",
                PERCENT,
                "92",
                "99",
                "%",
                pace=0.7,
                initiatives=(
                    InitiativeSpec("Retry the Bluetooth handshake with backoff", DONE, 3, "lucas"),
                    InitiativeSpec(
                        "Experiment: NFC unlock as a fallback",
                        IN_PROGRESS,
                        9,
                        "lucas",
                    ),
                ),
            ),
            KeyResultSpec(
                "Cut app-related support tickets from 14 to 6 per 1,000 riders",
                NUMBER,
                "14",
                "6",
                pace=0.9,
                initiatives=(
                    InitiativeSpec(
                        "In-app answers to the ten most asked questions",
                        IN_PROGRESS,
                        7,
                        "hannah",
                        "https://wiki.kestrel.example/app/help-center",
                    ),
                ),
            ),
            KeyResultSpec(
                "30% of riders with a fault use self-service diagnostics, up from 0%",
                PERCENT,
                "0",
                "30",
                "%",
                pace=0.4,
                owner="hannah",
                confidence=6,
                blockers={
                    4: "Needs the motor error codes over Bluetooth from Drivetrain.",
                    5: "Still waiting for the error codes (firmware 4.4).",
                },
            ),
        ),
        parent="effortless",
    ),
    ObjectiveSpec(
        "upgrades",
        "rider-app",
        "aisha",
        "Make upgrading a subscription a two-tap decision",
        "Riders who add a second battery or insurance churn half as often.",
        (
            KeyResultSpec(
                "Grow in-app accessory revenue from €18,000 to €45,000 a month",
                CURRENCY,
                "18000",
                "45000",
                "EUR",
                pace=0.6,
                owner="sofia",
            ),
            KeyResultSpec(
                "Raise plan-upgrade conversion from 1.2% to 3%",
                PERCENT,
                "1.2",
                "3",
                "%",
                pace=0.3,
                confidence=5,
                blockers={6: "Our payment provider cannot change plans mid-month yet."},
            ),
        ),
        kind=ASPIRATIONAL,
        parent="benelux",
    ),
    ObjectiveSpec(
        "winter-proof",
        "drivetrain",
        "erik",
        "Ship an S2 drivetrain that survives a Dutch winter",
        "Salt, rain and frost are what broke the first generation.",
        (
            KeyResultSpec(
                "Raise distance between drivetrain failures from 1,800 km to 6,000 km",
                NUMBER,
                "1800",
                "6000",
                "km",
                pace=0.7,
                owner="chloe",
                initiatives=(
                    InitiativeSpec(
                        "Salt-spray test rig for the drive unit",
                        IN_PROGRESS,
                        5,
                        "mateo",
                    ),
                ),
            ),
            KeyResultSpec(
                "Raise over-the-air update success from 94% to 99.5%",
                PERCENT,
                "94",
                "99.5",
                "%",
                pace=1.0,
                owner="priya",
            ),
            KeyResultSpec(
                "Drive unit passes the IP67 water ingress test",
                MILESTONE,
                "0",
                "1",
                pace=2.0,
                owner="mateo",
            ),
        ),
        parent="s2-drivetrain",
    ),
    ObjectiveSpec(
        "fleet-errors",
        "drivetrain",
        "erik",
        "Cut motor errors on the bikes already on the road",
        "Today's riders matter as much as the S2.",
        (
            KeyResultSpec(
                "Cut motor errors per 1,000 rides from 21 to 5", NUMBER, "21", "5", pace=0.8
            ),
            KeyResultSpec(
                "Cut drive-unit warranty claims from 46 to 20 a month",
                NUMBER,
                "46",
                "20",
                pace=0.6,
                owner="ben",
            ),
        ),
        parent="effortless",
    ),
    ObjectiveSpec(
        "dealer-reach",
        "sales",
        "laura",
        "Put a dealer within 20 minutes of every Benelux commuter",
        "Riders buy where they can get a test ride and a quick repair.",
        (
            KeyResultSpec(
                "Raise commuters within 20 minutes of a dealer from 55% to 75%",
                PERCENT,
                "55",
                "75",
                "%",
                pace=0.7,
                owner="omar",
            ),
            KeyResultSpec(
                "Raise dealer sell-through from 3.1 to 5 bikes a month",
                NUMBER,
                "3.1",
                "5",
                pace=0.4,
                owner="omar",
                confidence=6,
            ),
            KeyResultSpec(
                "Every active dealer orders through the dealer portal",
                MILESTONE,
                "0",
                "1",
                pace=1.8,
                owner="ravi",
                initiatives=(InitiativeSpec("Dealer portal pilot with five dealers", DONE, 4),),
            ),
        ),
        parent="benelux",
    ),
    ObjectiveSpec(
        "web-shop",
        "sales",
        "laura",
        "Make the web shop convert like the best in class",
        "The web shop is our cheapest channel when it works.",
        (
            KeyResultSpec(
                "Raise web checkout conversion from 1.8% to 2.6%",
                PERCENT,
                "1.8",
                "2.6",
                "%",
                pace=1.1,
                owner="julia",
                initiatives=(
                    InitiativeSpec(
                        "A/B test a one-page checkout",
                        IN_PROGRESS,
                        8,
                        link="https://experiments.kestrel.example/checkout-one-page",
                    ),
                ),
            ),
            KeyResultSpec(
                "Cut cost per acquired subscriber from €210 to €150",
                CURRENCY,
                "210",
                "150",
                "EUR",
                pace=0.8,
                owner="julia",
            ),
        ),
        parent="benelux",
    ),
    ObjectiveSpec(
        "first-contact",
        "customer-care",
        "noah",
        "Fix rider problems on the first contact",
        "Every second contact doubles the chance the rider cancels.",
        (
            KeyResultSpec(
                "Raise first-contact resolution from 61% to 80%",
                PERCENT,
                "61",
                "80",
                "%",
                pace=0.6,
                owner="fatima",
            ),
            KeyResultSpec(
                "Answer 95% of tickets within 4 working hours, up from 70%",
                PERCENT,
                "70",
                "95",
                "%",
                pace=0.9,
                owner="liam",
            ),
        ),
        parent="keep-riding",
    ),
    ObjectiveSpec(
        "doorstep",
        "customer-care",
        "noah",
        "Repair bikes where the riders are",
        "Bringing a broken e-bike to a workshop is the moment riders give up.",
        (
            KeyResultSpec(
                "Raise repairs done at the rider's door from 20% to 50%",
                PERCENT,
                "20",
                "50",
                "%",
                pace=0.4,
                owner="yuki",
                initiatives=(InitiativeSpec("Third repair van for Amsterdam", PLANNED, 8),),
            ),
            KeyResultSpec(
                "Cut median repair turnaround in Amsterdam from 5 days to 2",
                NUMBER,
                "5.0",
                "2.0",
                "days",
                pace=-0.1,
                confidence=5,
            ),
        ),
        parent="keep-riding",
    ),
    ObjectiveSpec(
        "on-call",
        "customer-care",
        "noah",
        "Rebuild the on-call rota so nobody burns out",
        "Private to the team: two people asked for fewer weekend shifts in their reviews.",
        (
            KeyResultSpec(
                "Cut weekend shifts per technician from 4 to 2 a month",
                NUMBER,
                "4.0",
                "2.0",
                pace=0.5,
            ),
            KeyResultSpec(
                "Raise the team pulse score from 5.8 to 7.5", NUMBER, "5.8", "7.5", pace=0.3
            ),
        ),
        private=True,
    ),
    # The people.
    ObjectiveSpec(
        "old-phones",
        "rider-app",
        "lucas",
        "Make the app fast on old phones",
        "A third of our riders use phones from 2019 or earlier.",
        (
            KeyResultSpec(
                "Cut cold start on a 2019 Android phone from 4.8 s to 2 s",
                NUMBER,
                "4.8",
                "2",
                "s",
                pace=1.1,
            ),
            KeyResultSpec(
                "Raise crash-free sessions on Android 10 and older from 95% to 99%",
                PERCENT,
                "95",
                "99",
                "%",
                pace=0.8,
            ),
        ),
        parent="app-trust",
    ),
    ObjectiveSpec(
        "boring-ota",
        "drivetrain",
        "priya",
        "Make over-the-air updates boringly reliable",
        "A failed update strands a rider; it must never happen.",
        (
            KeyResultSpec("Cut failed updates from 60 to 5 per 1,000", NUMBER, "60", "5", pace=1.0),
            KeyResultSpec(
                "Roll back unattended in 100% of simulated failures, up from 40%",
                PERCENT,
                "40",
                "100",
                "%",
                pace=0.9,
            ),
        ),
        parent="winter-proof",
    ),
    ObjectiveSpec(
        "rotterdam",
        "sales",
        "emma",
        "Open Rotterdam as our third city",
        "Rotterdam has the most commuters per dealer of any Dutch city.",
        (
            KeyResultSpec("Grow Rotterdam dealers from 2 to 8", NUMBER, "2", "8", pace=0.5),
            KeyResultSpec(
                "Grow Rotterdam subscribers from 120 to 600", NUMBER, "120", "600", pace=0.6
            ),
        ),
        kind=ASPIRATIONAL,
        parent="dealer-reach",
    ),
    ObjectiveSpec(
        "repeat-repairs",
        "customer-care",
        "yuki",
        "Halve repeat repairs",
        "A bike back in the workshop within a month means we fixed the symptom.",
        (
            KeyResultSpec(
                "Cut bikes back within 30 days of a repair from 12% to 6%",
                PERCENT,
                "12",
                "6",
                "%",
                pace=0.7,
            ),
            KeyResultSpec(
                "Raise repairs finished in one visit from 72% to 90%",
                PERCENT,
                "72",
                "90",
                "%",
                pace=0.5,
            ),
        ),
        parent="doorstep",
    ),
)

KPIS = (
    KpiSpec(
        "kestrel",
        "Weekly active riders",
        "Subscribers who rode at least once in the week.",
        "riders",
        Kpi.Direction.HIGHER_IS_BETTER,
        "8500",
        "7000",
        ((0, 8150), (8, 8600), (21, 9100)),
    ),
    KpiSpec(
        "kestrel",
        "Gross margin",
        "Revenue minus the cost of bikes, parts and repairs, as a share of revenue.",
        "%",
        Kpi.Direction.HIGHER_IS_BETTER,
        "25",
        "18",
        ((0, 23.0), (10, 22.4), (21, 22.8)),
        guards=("benelux",),
    ),
    KpiSpec(
        "customer-care",
        "Open repair backlog",
        "Bikes waiting for a repair, counted every Monday morning.",
        "bikes",
        Kpi.Direction.LOWER_IS_BETTER,
        "120",
        "250",
        ((0, 140), (6, 275), (21, 310)),
        guards=("doorstep",),
    ),
    KpiSpec(
        "drivetrain",
        "Warranty return rate",
        "Drive units returned under warranty, as a share of units in the field.",
        "%",
        Kpi.Direction.LOWER_IS_BETTER,
        "1.5",
        "3",
        ((0, 2.4), (21, 1.7)),
    ),
)

ONE_ON_ONES = (
    OneOnOneSpec(
        "tomasz",
        "aisha",
        2,
        "Crash-free sessions are moving; first-try unlocks are stuck around 93% on older "
        "Android phones. Self-service diagnostics depends on motor error codes from "
        "Drivetrain, so we agreed to settle a date with Erik this week.",
        (
            ("aisha", "Share the crash-free dashboard with Drivetrain", True),
            ("tomasz", "Agree a date for the Bluetooth error codes with Erik", False),
        ),
    ),
    OneOnOneSpec(
        "daniel",
        "noah",
        5,
        "Repair turnaround is going the wrong way and the backlog KPI is red. Options: a "
        "third van, dealers doing simple repairs, temporary weekend shifts. Noah is worried "
        "about weekend load on the team.",
        (
            ("noah", "Draft dealer-side repairs with Laura", False),
            ("daniel", "Get budget sign-off for a third repair van", False),
        ),
    ),
)

DEPENDENCIES = (
    DependencySpec(
        "app-trust",
        "drivetrain",
        "fleet-errors",
        "Expose motor error codes over Bluetooth so the app can diagnose faults.",
        7,
        "aisha",
        "erik",
        "Yes: it ships in firmware 4.4.",
    ),
)

# Said in check-ins without a note of their own, by where the value went that week.
NOTES_BY_DIRECTION = {
    "better": (
        "Moving the right way.",
        "Steady progress this week.",
        "Up on last week; the change we shipped is paying off.",
        "Good week, no surprises.",
    ),
    "worse": (
        "Slipped back this week; looking into why.",
        "Worse than last week. One-off or a trend? Watching it.",
        "Lost ground this week; a fix is on its way.",
    ),
    "flat": (
        "No real change this week.",
        "Flat; waiting for the next release to land.",
    ),
}

NEXT_FOCUS = (
    "Clear the review queue before starting anything new.",
    "Talk to five riders about what slows them down.",
    "Prepare the numbers for the monthly review.",
    "Pair with the team on the top open issue.",
)


# --- The closed quarter's grades and reflections --------------------------------------------


@dataclass(frozen=True)
class GradeSpec:
    """A grade that departs from the progress, with the owner's reason. Every other key
    result of the closed quarter is graded at its progress rounded to 0.1."""

    objective: str  # key of a previous-quarter objective
    key_result: int  # index among its key results
    grade: str
    reason: str


@dataclass(frozen=True)
class ReflectionSpec:
    objective: str
    author: str
    what_changed: str
    what_worked: str
    what_did_not: str
    learned: str
    next_focus: str


GRADE_OVERRIDES = (
    GradeSpec(
        "q-prev-antwerp",
        0,
        "0.4",
        "Seven dealers signed, but three of them only after the quarter's last week, once "
        "the distribution contract was through; we count what was live by the end.",
    ),
    GradeSpec(
        "q-prev-winter",
        0,
        "0.6",
        "The error rate fell mostly because December was dry; the share we can credit to "
        "the sealed connectors is smaller than the number suggests.",
    ),
)

REFLECTIONS = (
    ReflectionSpec(
        "q-prev-unlock",
        "aisha",
        what_changed="Unlocking now takes about three seconds for most riders, down from "
        "more than six; the support queue lost its most common complaint.",
        what_worked="Measuring every step of the unlock on real phones showed that the "
        "Bluetooth handshake, not our server, ate most of the time.",
        what_did_not="We spent three weeks on a server cache that barely moved the median "
        "before we had the measurements.",
        learned="Instrument first, optimise second. A median hides the riders on old "
        "Android phones, who wait the longest.",
        next_focus="Bring the slowest tenth of unlocks under five seconds.",
    ),
    ReflectionSpec(
        "q-prev-antwerp",
        "laura",
        what_changed="Antwerp has its first dealers and a few hundred riders: the model "
        "works outside the Netherlands, though slower than we planned.",
        what_worked="Partnering with bike shops that already repair e-bikes; riders trusted "
        "them from day one.",
        what_did_not="We planned the launch around a contract we did not control; two "
        "months went by waiting for signatures.",
        learned="For a new country, the legal groundwork is the first key result, not an "
        "assumption behind the others.",
        next_focus="Grow Antwerp to break-even before opening a second Belgian city.",
    ),
    ReflectionSpec(
        "q-prev-answers",
        "noah",
        what_changed="Most riders now hear from us the same morning they write.",
        what_worked="A shared rota for the first hour of the day cleared the overnight "
        "backlog before it piled up.",
        what_did_not="Satisfaction after repairs barely moved: fast answers do not fix a "
        "slow repair.",
        learned="Our speed of reply is ours to change; repair quality needs the workshop "
        "partners at the table.",
        next_focus="Agree repair times with the workshops and report them weekly.",
    ),
)
