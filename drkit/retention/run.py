"""Gather what a prune must respect, decide it (`plan.decide`), and carry it out under the
engine lock: the index rows first, then the archived files, re-deciding just before writing."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from drkit.compression import compressed_name, stored_path
from drkit.config import Config, NodeConfig
from drkit.errors import ConfigError, IndexBehind
from drkit.index import first_ids
from drkit.index import prune as index_prune
from drkit.index.position import last_applied
from drkit.index.store import IndexStore
from drkit.io import archive
from drkit.io.facts import gather_all
from drkit.io.lock import current_holder, engine_lock
from drkit.model.coords import file_sequence
from drkit.model.facts import NodeFacts, Unreachable
from drkit.pitr import state as recovery_state
from drkit.render import counted, size
from drkit.retention.plan import ArchivedFile, Hold, IndexSpan, PrunePlan, decide, narrowed

log = logging.getLogger(__name__)

Gather = Callable[[Iterable[NodeConfig]], tuple[NodeFacts, ...]]


@dataclass(frozen=True)
class PruneReport:
    """What a prune removed (rows and files) and the plan it carried out."""

    plan: PrunePlan
    rows_removed: int
    files_removed: tuple[str, ...]
    bytes_freed: int

    def render(self) -> str:
        lines = [
            f"pruned {counted(self.rows_removed, 'index row')} and "
            f"{counted(len(self.files_removed), 'archived file')} ({size(self.bytes_freed)})"
        ]
        lines.extend(f"kept: {reason}" for reason in self.plan.kept)
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {
            "rows_removed": self.rows_removed,
            "files_removed": list(self.files_removed),
            "bytes_freed": self.bytes_freed,
            "plan": self.plan.to_json(),
        }


def plan_prune(
    config: Config, *, now: float | None = None, gather: Gather = gather_all
) -> PrunePlan:
    """The prune `[retention]` asks for now, as a value (the dry run); reads, changes nothing."""
    holds = [*_plan_holds(config)]
    return _decide(config, holds, now=now, gather=gather)


def prune(
    config: Config,
    shown: PrunePlan | None = None,
    *,
    command: str = "drkit prune",
    now: float | None = None,
    gather: Gather = gather_all,
    between: Callable[[int], None] | None = None,
) -> PruneReport:
    """Carry out a prune under the engine lock, deciding again there and never removing more
    than `shown` (the plan the operator confirmed). `between(rows removed so far)` runs after
    each chunk of index rows is removed (the rows go a few thousand at a time)."""
    with engine_lock(config.folder, what="pruning the index and archive", command=command):
        plan = _decide(config, [], now=now, gather=gather)
        if shown is not None:
            plan = narrowed(plan, shown)
        return _execute(config, plan, between)


def _plan_holds(config: Config) -> Iterable[Hold]:
    holder = current_holder(config.folder)
    if holder is not None:
        yield Hold(f"a plan is running ({holder.describe()}): it may need any transaction")


def _decide(config: Config, holds: list[Hold], *, now: float | None, gather: Gather) -> PrunePlan:
    moment = time.time() if now is None else now
    keep = config.retention.keep
    files = _archived(config.index.archive_dir)
    writing = _writing(config.index.archive_dir, files)
    if not config.index.path.exists():
        return decide(now=moment, keep=keep, span=None, files=files, holds=tuple(holds))
    with IndexStore(config.index.path, readonly=True) as store:
        oldest, latest = store.oldest(), store.latest()
        if oldest is None or latest is None:
            return decide(now=moment, keep=keep, span=None, files=files, holds=tuple(holds))
        holds.extend(_recovery_holds(config))
        holds.extend(_delayed_holds(config, store, gather))
        young = index_prune.first_at_or_after(store, moment - keep)
        span = IndexSpan(oldest.id, latest.id, young.id if young else None)
        first = decide(
            now=moment, keep=keep, span=span, files=files, holds=tuple(holds), writing=writing
        )
        floor = first.floor_id if first.floor_id is not None else oldest.id
        floor_tx = store.get(floor)
        file_of = {floor: file_sequence(floor_tx.file)} if floor_tx else {}
        counts = {floor: index_prune.count_before(store, floor)}
    span = IndexSpan(oldest.id, latest.id, span.first_young_id, file_of)
    return decide(
        now=moment,
        keep=keep,
        span=span,
        files=files,
        holds=tuple(holds),
        count_below=counts,
        writing=writing,
    )


def _recovery_holds(config: Config) -> Iterable[Hold]:
    """A recorded recovery whose target still stands keeps its targets (a re-run needs them)."""
    state = recovery_state.load(config.folder)
    if state is None or not state.continuable or state.targets is None:
        return
    targets = state.targets
    ids = [
        i
        for i in (targets.stop_id, *targets.skip_ids, *targets.through_ids, targets.end_id)
        if i is not None
    ]
    what = f"the recovery recorded in {recovery_state.STATE_NAME} ({state.description}, {state.status})"
    if ids:
        yield Hold(f"#{min(ids)} onwards: targets of {what}", min(ids))
    else:
        yield Hold(f"everything: {what} names no transaction id")


def _delayed_holds(config: Config, store: IndexStore, gather: Gather) -> Iterable[Hold]:
    """Each delayed replica keeps what it has not applied; one that does not answer, everything."""
    nodes = config.delayed
    if not nodes:
        return
    reference = store.latest()
    for facts in gather(nodes):
        if facts.unreachable_kind in (Unreachable.AUTH, Unreachable.CONFIG):
            # A refused login is the config's fault (exit 2), not a node that is down.
            raise ConfigError(
                f"delayed node {facts.name} refused drkit's login "
                f"({facts.unreachable_reason}): nothing was pruned",
                hint="fix the password, account or TLS settings in the config, then prune again",
            )
        if not facts.reachable:
            yield Hold(
                f"everything: delayed node {facts.name} does not answer "
                f"({facts.unreachable_reason or 'unreachable'}), so what it still needs is unknown"
            )
            continue
        try:
            applied, in_order = last_applied(facts, store, reference)
        except IndexBehind as behind:
            yield Hold(f"everything: {behind.message}")
            continue
        if applied is None:
            yield Hold(
                f"everything: delayed node {facts.name} has applied no indexed transaction yet"
            )
        elif not in_order:
            yield Hold(
                f"everything: delayed node {facts.name} applies GTID domains out of order, "
                "so the first transaction it lacks is unknown"
            )
        else:
            yield Hold(
                f"#{applied.id} onwards: delayed node {facts.name} has applied up to "
                f"#{applied.id} ({applied.gtid}) and not what follows",
                applied.id,
            )


def _archived(archive_dir: Path) -> tuple[ArchivedFile, ...]:
    found = []
    for path in archive.archived_files(archive_dir):
        with contextlib.suppress(OSError):
            size = stored_path(path).stat().st_size  # on disk: compressed or not
            found.append(ArchivedFile(path.name, file_sequence(path.name), size))
    return tuple(found)


def _writing(archive_dir: Path, files: tuple[ArchivedFile, ...]) -> str | None:
    """The file a follower writes now: the newest one, when an indexer or guard holds the archive."""
    if archive.holder(archive_dir) is None or not files:
        return None
    return max(files, key=lambda f: f.sequence).name


def _execute(
    config: Config, plan: PrunePlan, between: Callable[[int], None] | None = None
) -> PruneReport:
    rows = 0
    if plan.floor_id is not None or plan.files:
        with IndexStore(config.index.path) as store:
            _remember_first_id(config, store, plan)
            if plan.floor_id is not None:
                rows = index_prune.delete_before(store, plan.floor_id, between=between)
    removed: list[str] = []
    freed = 0
    for item in plan.files:
        plain = config.index.archive_dir / item.name
        # Both forms: a follower may be compressing it right now (NAME.zst lands before NAME goes).
        sizes = [_unlink(path) for path in (plain, plain.with_name(compressed_name(item.name)))]
        if any(size is not None for size in sizes):
            removed.append(item.name)
            freed += sum(size or 0 for size in sizes)
    log.info("pruned %d index rows and %d archived files", rows, len(removed))
    return PruneReport(plan, rows, tuple(removed), freed)


def _remember_first_id(config: Config, store: IndexStore, plan: PrunePlan) -> None:
    """Before anything goes: the first id of the oldest file kept, so a rebuild keeps the ids."""
    keep_from = plan.floor_id
    if keep_from is None:
        oldest = store.oldest()
        keep_from = oldest.id if oldest else None
    floor = store.get(keep_from) if keep_from is not None else None
    if floor is not None and keep_from is not None:
        first_ids.remember(config.index.archive_dir, store, floor.file, keep_from)


def _unlink(path: Path) -> int | None:
    """Remove a file; its size, or None when it was not there."""
    try:
        size = path.stat().st_size
        os.unlink(path)
    except FileNotFoundError:
        return None
    return size
