"""Answers about delegations: who led them, who was in them, what they sought."""

from __future__ import annotations

from handlers.meetings import title
from handlers.question import Question
from handlers.reader.base import Answer, Point, cited, examples, now_of, tense, yes_no
from handlers.reader.words import PRESENT, overlap
from handlers.render import esc
from store.models import Delegation, Economy, Meeting
from store.queries import Store


@examples(
    "who leads the US delegation?",
    "who will lead the US delegation to SOM3?",
    "what does the US delegation want at SOM1",
)
def delegation(q: Question, store: Store) -> Answer | None:
    """Who led an economy's delegation, who was in it, what it sought: for the meeting asked."""
    if not _asks_delegation(q, store):
        return None
    if not q.economies:
        return _all_delegations(q, store)
    if len(q.economies) > 1 and not q.polar:  # "the korean and the american delegations"
        first, *rest = [_of_economy(q, store, economy) for _, economy in q.economies]
        for other in rest:
            if other.cite is not None:
                first.points.append(Point(other.line, other.cite.source, other.cite.quote))
            else:  # what the records lack, said in as many words, under the first
                first.line = f"{first.line}\n{other.line}"
            first.points += other.points
            first.nearby += other.nearby
        return first
    economy = q.economy
    assert economy is not None
    return _of_economy(q, store, economy)


def _of_economy(q: Question, store: Store, economy: Economy) -> Answer:
    """The delegation row's answer for one economy."""
    found = store.delegations(economy_id=economy.id)
    asked = [m for m in q.meetings if m.kind != "committee"] or list(q.meetings)
    if asked:
        found = [d for d in found if d.meeting.id in {m.id for m in asked}]
    if not found:
        return _no_delegation(q, store, economy.name, economy.id, asked)
    answer = _delegation_answer(q, found[-1])
    answer.more = f"delegation {economy.id} {found[-1].meeting.short}"
    return answer


def _asks_delegation(q: Question, store: Store) -> bool:
    """A delegation asked about (or an economy's head, aims or attendance), not what was agreed
    or discussed, nor a topic of its own, nor a person's role other than leading it."""
    has_one = bool(q.economies) and bool(store.delegations(economy_id=q.economies[0][1].id))
    asks_it = q.delegation or (
        q.economies
        and ("lead" in q.asks or (q.meetings or has_one) and q.asks & {"priorities", "attend"})
    )
    if not asks_it or q.asks & {"agreed", "discussed", "chair"} or q.others:
        return False
    if q.meetings and q.asks & {"where", "when"} and not q.asks & {"lead", "priorities", "count"}:
        return False  # "which city did the US team go to for SOM1": the meeting's place
    if q.topic and "priorities" not in q.asks and not _which_meetings(q):
        return False
    return not (q.people and not q.asks & {"lead"})


def _delegation_answer(q: Question, d: Delegation) -> Answer:
    now = now_of(q)
    name = f"the {esc(d.economy.name)} delegation to {esc(title(d.meeting))}"
    if "count" in q.asks:
        return _delegation_size(q, d, name)
    if "priorities" in q.asks and d.objectives:
        return _objectives(q, d, name)
    if _which_meetings(q):
        return _meetings_joined(q, d, name)
    verb = tense(d.meeting, now, "led", "leads", "is to lead")
    if d.head is not None:
        head = f"*{esc(d.head.name)}*" + (f" ({esc(d.head.title)})" if d.head.title else "")
        line = f"{head} {verb} {name}"
    else:
        line = f"No source on record names the head of {name}"
    if q.polar and q.people and d.head:
        line = yes_no(d.head.id == q.people[0].id, line)
    elif q.polar and "lead" not in q.asks:
        line = yes_no(True, line)
    if (
        "lead" not in q.asks
        and q.has("members", "member", "other", "else", "who")
        and not d.members
    ):
        return Answer(
            f"No source on record names other members of {name}.",
            nearby=[Point(f"{line}.", d.source, d.quote)],
        )
    if d.members and "lead" not in q.asks:
        others = ", ".join(f"*{esc(m.person.name)}*" for m in d.members)
        verb = tense(d.meeting, now, "included", "includes", "includes")
        if q.has("else", "other", "besides") and d.head is not None and not q.polar:
            # "who else was on the US team besides Mace?": the others first, the head after
            head = f"*{esc(d.head.name)}*"
            return Answer(f"Besides {head}, {name} {verb} {others}.", cite=cited(d.source, d.quote))
        line += f"; it {verb} {others}"
    return Answer(f"{line}.", cite=cited(d.source, d.quote))


def _meetings_joined(q: Question, d: Delegation, name: str) -> Answer:
    """The meetings the delegation's people took part in, as the roles on record say."""
    people = ([d.head] if d.head else []) + [m.person for m in d.members]
    roles = [r for p in people if p for r in p.roles if r.meeting_id and PRESENT.search(r.role)]
    if not roles:
        return Answer(f"No source on record names the meetings {name} took part in.")
    said = "; ".join(esc(r.role) for r in roles)
    answer = Answer(
        f"Of {name}, the sources say: {said}.", cite=cited(roles[0].source, roles[0].quote)
    )
    answer.points += [Point("", r.source, r.quote) for r in roles[1:]]
    return answer


def _objectives(q: Question, d: Delegation, name: str) -> Answer:
    if q.polar and q.topic:
        hits = [o for o in d.objectives if overlap(o.text, q.topic) >= max(1, len(q.topic) - 1)]
        if hits:
            return Answer(
                yes_no(
                    True, f"{name} set out to {esc(hits[0].text[:1].lower() + hits[0].text[1:])}."
                ),
                cite=cited(hits[0].source, hits[0].quote),
            )
    aims = "; ".join(esc(o.text[:1].lower() + o.text[1:]) for o in d.objectives)
    answer = Answer(f"The stated objectives of {name}: {aims}.", cite=cited(d.source))
    answer.points += [Point("", o.source) for o in d.objectives]
    return answer


def _delegation_size(q: Question, d: Delegation, name: str) -> Answer:
    answer = Answer(
        f"No source on record gives the size of {name}.", more=f"delegation {d.economy.id}"
    )
    people = [d.head] if d.head else []
    people += [m.person for m in d.members]
    if people:
        names = ", ".join(f"*{esc(p.name)}*" for p in people if p)
        answer.nearby.append(Point(f"The sources name {names} in it.", d.source, d.quote))
    return answer


def _no_delegation(
    q: Question, store: Store, name: str, economy_id: str, asked: list[Meeting]
) -> Answer:
    what = {
        "lead": "names the head of",
        "priorities": "states the objectives of",
        "count": "gives the size of",
    }
    verb = next((v for k, v in what.items() if k in q.asks), "lists")
    to = f" to {esc(title(asked[0]))}" if asked else ""
    answer = Answer(
        f"No source on record {verb} the {esc(name)} delegation{to}.",
        more=f"delegation {economy_id}",
    )
    for d in store.delegations(economy_id=economy_id):
        head = f", led by *{esc(d.head.name)}*" if d.head else ""
        answer.nearby.append(
            Point(
                f"The {esc(name)} delegation to {esc(title(d.meeting))}{head}.", d.source, d.quote
            )
        )
    if not answer.nearby:
        for d in store.delegations():
            answer.nearby.append(
                Point(
                    f"A delegation on record: {esc(d.economy.name)} to {esc(d.meeting.short)}.",
                    d.source,
                    d.quote,
                )
            )
    return answer


def _all_delegations(q: Question, store: Store) -> Answer | None:
    found = store.delegations()
    if q.meetings:
        found = [d for d in found if d.meeting.id in {m.id for m in q.meetings}]
    to = f" to {esc(title(q.meetings[0]))}" if q.meetings else ""
    if not found:
        return Answer(f"No source on record names a delegation{to}.")
    if "count" in q.asks:
        answer = Answer(
            f"No source on record gives how many delegations or delegates attended{to}; "
            f"the sources name {len(found)} delegation{'s' if len(found) > 1 else ''}."
        )
        answer.nearby += [
            Point(
                f"The {esc(d.economy.name)} delegation to {esc(d.meeting.short)}.",
                d.source,
                d.quote,
            )
            for d in found
        ]
        return answer
    heads = [
        f"*{esc(d.head.name)}* the {esc(d.economy.name)} delegation to {esc(d.meeting.short)}"
        for d in found
        if d.head
    ]
    line = "Delegations on record, with their heads: " + "; ".join(heads) + "."
    answer = Answer(line if heads else "No source on record names the heads of these delegations.")
    answer.points += [Point("", d.source, d.quote) for d in found]
    answer.more = "delegations"
    return answer


# Roles that put someone at a meeting (being invited to one does not).


def _which_meetings(q: Question) -> bool:
    """ "which committee meetings did the Korean delegation join": the meetings, not the head."""
    return q.has("which", "what") and q.has("meetings", "committee", "committees", "sessions")
