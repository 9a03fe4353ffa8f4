"""Where a node stands in the index: the last indexed transaction it applied, per GTID domain."""

from __future__ import annotations

from drkit.errors import IndexBehind
from drkit.index.records import IndexedTransaction
from drkit.index.store import IndexStore
from drkit.model.facts import NodeFacts
from drkit.model.gtid import MariadbGtid, MariadbGtidPos, MysqlGtid, MysqlGtidSet, parse_gtid


def last_applied_gtid(facts: NodeFacts, reference: IndexedTransaction | None) -> str | None:
    """The node's last applied GTID from the source the index follows (its domain or uuid)."""
    if not facts.reachable or reference is None or reference.gtid is None:
        return None
    sample = parse_gtid(reference.gtid)
    if isinstance(sample, MariadbGtid):
        pos = facts.executed
        assert isinstance(pos, MariadbGtidPos)
        last = pos.last_in_domain(sample.domain)
        if last is None:
            return None
        # The position names the last server to write the domain; the index names the primary.
        return (
            str(MariadbGtid(last.domain, sample.server_id, last.seq))
            if last.server_id != sample.server_id
            else str(last)
        )
    assert isinstance(sample, MysqlGtid)
    gset = MysqlGtidSet.parse(facts.gtid_executed_text)
    for uuid, spans in gset.intervals:
        if uuid == sample.uuid and spans:
            return f"{uuid}:{spans[-1][1]}"
    return None


def last_applied(
    facts: NodeFacts, store: IndexStore, reference: IndexedTransaction | None
) -> tuple[IndexedTransaction | None, bool]:
    """The newest indexed transaction the node applied, over every GTID domain it applied.

    The index is in the primary's binlog order and an in-order applier has applied a prefix of
    it: the prefix ends at the newest transaction applied in any domain. The flag says whether
    that holds (False: some domain lags behind the prefix, as domain-parallel replication allows).
    None: the node applied no indexed transaction (its position is older than the index).
    IndexBehind when the node applied a GTID newer than the index holds in that domain: what it
    applied is then unknown, and never to be taken as "nothing".
    """
    if not facts.reachable or reference is None or reference.gtid is None:
        return None, True
    found: list[IndexedTransaction] = []
    for candidates in _last_per_domain(facts, reference.gtid):
        record = next(filter(None, map(store.by_gtid, candidates)), None)
        if record is not None:
            found.append(record)
        else:
            _refuse_beyond_index(facts.name, store, reference, candidates[-1])
    if not found:
        return None, True
    applied = max(found, key=lambda t: t.id)
    in_order = all(
        (store.last_in_domain(_domain(record.gtid), applied.id) or record).id == record.id
        for record in found
        if record.gtid
    )
    return applied, in_order


def _last_per_domain(facts: NodeFacts, sample_text: str) -> list[tuple[str, ...]]:
    """Per domain, the GTIDs the node's last applied transaction may be indexed under."""
    sample = parse_gtid(sample_text)
    if isinstance(sample, MariadbGtid):
        pos = facts.executed
        assert isinstance(pos, MariadbGtidPos)
        # The position names the last server to write a domain; the index names the primary.
        return [
            (str(gtid), str(MariadbGtid(gtid.domain, sample.server_id, gtid.seq)))
            for gtid in pos.by_domain
        ]
    gset = MysqlGtidSet.parse(facts.gtid_executed_text)
    return [(f"{uuid}:{spans[-1][1]}",) for uuid, spans in gset.intervals if spans]


def _refuse_beyond_index(
    node: str, store: IndexStore, reference: IndexedTransaction, gtid: str
) -> None:
    """IndexBehind when `gtid` is newer than the index's newest transaction of its domain."""
    newest = store.last_in_domain(_domain(gtid), reference.id)
    if newest is not None and newest.gtid and _sequence(gtid) > _sequence(newest.gtid):
        raise IndexBehind(node, gtid)


def _sequence(gtid: str) -> int:
    parsed = parse_gtid(gtid)
    return parsed.seq if isinstance(parsed, MariadbGtid) else parsed.number


def _domain(gtid: str | None) -> str:
    text = gtid or ""
    return text.split(":", 1)[0] if ":" in text else text.split("-", 1)[0]


def position_at(
    store: IndexStore, base: MariadbGtidPos, domains: set[str], tx_id: int
) -> MariadbGtidPos:
    """MariaDB: `base` moved, domain by domain, to the newest indexed transaction <= tx_id."""
    position = base
    for domain in sorted(domains):
        record = store.last_in_domain(domain, tx_id)
        if record is not None and record.gtid:
            gtid = parse_gtid(record.gtid)
            assert isinstance(gtid, MariadbGtid)
            position = position.with_gtid(gtid)
    return position


def applied_position(facts: NodeFacts, store: IndexStore) -> MariadbGtidPos | None:
    """MariaDB: the gtid_slave_pos a stopped replica must have for what it applied, from the
    index; None when that cannot be told (not MariaDB, nothing indexed applied, the index
    behind the node, domains applied out of order)."""
    if not facts.reachable or not facts.is_mariadb:
        return None
    try:
        applied, in_order = last_applied(facts, store, store.latest())
    except IndexBehind:
        return None
    if applied is None or not in_order:
        return None
    executed = facts.executed
    assert isinstance(executed, MariadbGtidPos)
    domains = {str(gtid.domain) for gtid in executed.by_domain}
    return position_at(store, MariadbGtidPos.parse(facts.gtid_slave_pos_text), domains, applied.id)
