"""The stream runtime: how every consuming stage reads, decodes, acknowledges and dead-letters.

    codec.py        the JSON envelope in ``__data__``: where an entry is encoded and decoded (once)
    runner.py       a batch of entries: decoded, processed, acknowledged, or dead-lettered
    reclaim.py      idle pending entries taken over; too many deliveries end in the dead-letter stream
    worker.py       a stage at run time: XREADGROUP in batches, the reclaim loop, recovery, clean stop
    groups.py       consumer groups: created at 0, and how far each trails its stream
    deadletter.py   the dead-letter record: written, read, listed and replayed by one model
    ids.py          stream entry ids, read and written one way

A stage (services/contracts.py: ``Stage``) only implements "process a batch of articles"; the runtime
owns everything else. Errors follow services/errors.py.
"""
